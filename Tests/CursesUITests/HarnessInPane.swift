import TerminalTestSupport
import Foundation

/// Runs `CursesHarness` in a ``TmuxSession``'s shell and reads how it ended.
struct HarnessInPane {
    let session: TmuxSession
    let path: String

    /// How a harness run ended, as the shell saw it.
    struct Outcome {
        /// The harness's exit status (`$?`: 128 + n when killed by signal n).
        var status: Int
        /// Whether `stty -g` printed the same before and after the run.
        var terminalSane: Bool
        /// The pane after the run.
        var screen: String
    }

    init(session: TmuxSession) throws {
        self.session = session
        path = try HarnessBinary.path()
    }

    /// Starts the harness and waits until its screen shows `harness <width>x<height>` (unless
    /// `waitForScreen` is false).
    ///
    /// `prefix` goes before the harness's path on the command line: environment assignments
    /// (`"NO_COLOR=1"`) or a shell command ending in `;` (`"trap '' HUP;"`).
    ///
    /// The shell records `stty -g` first; when the harness ends it prints `EXIT=<status>` and
    /// `SANE=yes` or `SANE=no` (whether `stty -g` is unchanged). The command line itself contains
    /// neither `EXIT=<digits>` nor `SANE=yes`, so they cannot be matched early.
    func start(prefix: String = "", waitForScreen: Bool = true, width: Int = 100, height: Int = 30) async throws {
        let command = "clear; s=$(stty -g); \(prefix) '\(path)'; echo EXIT=$?; "
            + "echo SANE=$([ \"$s\" = \"$(stty -g)\" ] && echo yes || echo no)"
        try session.type(command)
        if waitForScreen {
            try await waitForFrame("harness \(width)x\(height)") { $0.contains("harness \(width)x\(height)") }
        }
    }

    /// The harness's footer, the last line ncurses draws in a frame.
    static let footer = "q quit  ctrl-l redraw"

    /// Polls until a whole frame on the pane satisfies `condition`.
    ///
    /// A full repaint (the first frame, a resize, Ctrl-L) clears the screen and draws it top to
    /// bottom, and tmux can be read halfway through: the top lines new, the rest still blank. The
    /// footer is drawn last, so a screen that has it (and satisfies `condition`) is a whole frame.
    /// - Returns: that screen.
    @discardableResult
    func waitForFrame(_ what: String, _ condition: (String) -> Bool) async throws -> String {
        try await session.waitUntil("a whole frame with \(what)") { screen in
            condition(screen) && screen.contains(Self.footer)
        }
    }

    /// Waits for the harness to end and the shell to report on it.
    func waitForExit() async throws -> Outcome {
        let screen = try await session.waitUntil("the harness to exit (EXIT= and SANE= in the pane)") { screen in
            screen.contains(/EXIT=[0-9]+/) && screen.contains(/SANE=(yes|no)/)
        }
        let status = screen.firstMatch(of: /EXIT=([0-9]+)/).flatMap { Int($0.1) } ?? -1
        let sane = screen.firstMatch(of: /SANE=(yes|no)/).map { $0.1 == "yes" } ?? false
        return Outcome(status: status, terminalSane: sane, screen: screen)
    }

    /// Presses `q` and waits for the harness to end.
    func quit() async throws -> Outcome {
        try session.press("q")
        return try await waitForExit()
    }

    /// Waits until the harness shows `key` (a `KeyInput` description) as the last key.
    func waitForLastKey(_ key: String) async throws {
        try await session.waitFor("last key: \(key)")
    }
}
