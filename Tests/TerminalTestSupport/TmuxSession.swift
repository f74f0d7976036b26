import Foundation
import Synchronization

/// A private tmux server with one detached session running `bash`, for end-to-end terminal tests.
///
/// Each instance has its own server socket (`tmux -L <unique>`), so tests never see each other's
/// sessions or the user's. ``withSession(width:height:_:)`` always kills the server at the end.
/// The shell runs with a UTF-8 locale, a fixed prompt, no `NO_COLOR`, and the Swift backtracer
/// off (it would wait for a key on a terminal after a crash).
public final class TmuxSession {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The name of the session inside the private server.
    public static let target = "harness-test"
    private static let counter = Counter()

    public let socket: String
    private let tmux: String
    /// The server's socket file, which tmux leaves behind when killed.
    private var socketPath: String?
    private var killed = false

    /// Starts the server and the session.
    /// - Throws: ``Failure`` when tmux is missing or the session does not start.
    public init(width: Int, height: Int) throws {
        guard let tmux = Self.findExecutable("tmux") else {
            throw Failure(description: "tmux is not installed (on Debian: apt-get install tmux); the terminal tests need it")
        }
        self.tmux = tmux
        socket = "poolmon-curses-\(getpid())-\(Self.counter.next())-\(UInt32.random(in: 0...UInt32.max))"
        // `swift test` sets NO_COLOR=1 when its output is not a terminal; the harness must not
        // inherit that (tests that want it set it themselves).
        let shell = "env -u NO_COLOR PS1='$ ' LANG=C.UTF-8 LC_ALL=C.UTF-8 SWIFT_BACKTRACE=enable=no bash --norc --noprofile"
        // `-f /dev/null`: no user configuration.
        _ = try run(["-f", "/dev/null", "new-session", "-d", "-s", Self.target, "-x", "\(width)", "-y", "\(height)", shell])
        socketPath = try? run(["display-message", "-p", "#{socket_path}"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { kill() }

    /// Runs `body` with a new session, then kills its server however `body` ends.
    public static func withSession<R>(width: Int = 100, height: Int = 30, _ body: (TmuxSession) async throws -> R) async throws -> R {
        let session = try TmuxSession(width: width, height: height)
        defer { session.kill() }
        return try await body(session)
    }

    /// Kills the server (and with it the shell and whatever runs in it). Idempotent.
    public func kill() {
        guard !killed else { return }
        killed = true
        _ = try? run(["kill-server"])
        if let socketPath, !socketPath.isEmpty { _ = unlink(socketPath) }
    }

    /// Runs one tmux command against this server.
    /// - Returns: its standard output.
    @discardableResult
    public func run(_ arguments: [String]) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["TMUX"] = nil
        environment["TMUX_PANE"] = nil
        environment["NO_COLOR"] = nil
        // `new-session` starts the server, which forks from this client: ChildProcess gives it
        // a clean signal mask (see there) and reads output from a file, not a pipe it would hold.
        // Generous: on a loaded 2-core machine starting a server can take many seconds.
        let output = try ChildProcess.run(tmux, ["-L", socket] + arguments, environment: environment, timeout: .seconds(90))
        guard output.status == 0 else {
            throw Failure(description: "tmux \(arguments.joined(separator: " ")) exited with status \(output.status): \(output.standardError)")
        }
        return output.standardOutput
    }

    /// Types `text` into the pane literally, then presses Enter.
    public func type(_ text: String) throws {
        try run(["send-keys", "-t", Self.target, "-l", text])
        try run(["send-keys", "-t", Self.target, "Enter"])
    }

    /// Presses keys given by tmux key names (`x`, `Up`, `F5`, `C-l`).
    public func press(_ keys: String...) throws {
        try run(["send-keys", "-t", Self.target] + keys)
    }

    /// Sends `text` as literal characters.
    public func pressLiteral(_ text: String) throws {
        try run(["send-keys", "-t", Self.target, "-l", text])
    }

    /// Resizes the window (the running program gets SIGWINCH).
    public func resize(width: Int, height: Int) throws {
        try run(["resize-window", "-t", Self.target, "-x", "\(width)", "-y", "\(height)"])
    }

    /// The pane's text; with `escapes`, with its attributes and colours as SGR sequences.
    public func capture(escapes: Bool = false) throws -> String {
        try run(["capture-pane", "-p", "-t", Self.target] + (escapes ? ["-e"] : []))
    }

    /// The pane's terminal device (`/dev/pts/N`).
    public func paneTTY() throws -> String {
        try run(["display-message", "-p", "-t", Self.target, "#{pane_tty}"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Polls the pane until `condition` holds for its text, or `timeout` passes.
    /// - Returns: the pane's text that satisfied `condition`.
    /// - Throws: ``Failure`` naming `what` and showing the last screen, on timeout.
    @discardableResult
    public func waitUntil(
        _ what: String,
        timeout: Duration = .seconds(20),
        escapes: Bool = false,
        _ condition: (String) -> Bool
    ) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var screen = ""
        while true {
            screen = try capture(escapes: escapes)
            if condition(screen) { return screen }
            if clock.now >= deadline {
                throw Failure(description: "timed out after \(timeout) waiting for \(what); the pane shows:\n\(screen)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Presses `key` and polls until the pane has changed (the program has answered it), or
    /// `timeout` passes with the screen as it was (a key that changes nothing, such as a
    /// scroll at the end).
    /// - Returns: the pane's text after the key.
    @discardableResult
    public func pressAndSettle(_ key: String, timeout: Duration = .seconds(3)) async throws -> String {
        let before = try capture()
        try press(key)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let screen = try capture()
            if screen != before || clock.now >= deadline { return screen }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Polls until the pane contains `text`.
    @discardableResult
    public func waitFor(_ text: String, timeout: Duration = .seconds(20)) async throws -> String {
        try await waitUntil("'\(text)'", timeout: timeout) { $0.contains(text) }
    }

    private static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Numbers the sessions of this process, for unique socket names.
    private final class Counter: Sendable {
        private let value = Mutex(0)
        func next() -> Int { value.withLock { $0 += 1; return $0 } }
    }
}
