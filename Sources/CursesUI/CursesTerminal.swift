import CNCurses
import Glibc
import PoolMonitor
import Synchronization

/// The process's terminal in curses mode: draws ``Canvas``es and reads keys.
///
/// Start a session with ``withTerminal(interrupter:_:)``; the terminal is restored when the body
/// returns or throws, and also if the process crashes meanwhile (see ``CrashSignalGuard``).
///
/// ## One thread owns the terminal
/// ncurses is not thread-safe. The thread that calls `withTerminal` owns the session: only it
/// may call ``draw(_:)``, ``readKey(timeoutMilliseconds:)``, ``forceRedraw()`` and ``size``
/// (each checks this with a precondition), and the value must not escape the body (it is not
/// `Sendable`). Other threads use the session's ``TerminalInterrupter`` to make it stop. Since
/// `readKey` blocks, call it on a dedicated thread (the main thread, or a `Thread`), not on
/// Swift's cooperative pool.
///
/// ## Signals
/// - SIGWINCH stays at its default so ncurses installs its own handler: a resize arrives as
///   ``KeyInput/resize`` from `readKey`, after which ``size`` is the new size.
/// - SIGINT/SIGTERM/SIGHUP are the application's business (block them and `sigwait` on a thread,
///   then call ``TerminalInterrupter/interrupt()``). ncurses installs handlers only for signals
///   still at their default action; it is not relied on.
/// - Crash signals restore the terminal and then take their previous action.
/// - SIGTSTP (Ctrl-Z) is recorded; the owner sees it with ``takeStopRequest()`` and calls
///   ``suspendForJobControl(beforeStop:afterContinue:)``.
public final class CursesTerminal {
    /// How long one ncurses wait lasts at most, so that an interruption from another thread is
    /// noticed within this time.
    public static let interruptLatencyMilliseconds = 50

    /// Whether any session is active in this process (ncurses has a single set of globals).
    private static let sessionActive = Atomic<Bool>(false)

    /// Makes this session's key wait return; hand it to other threads.
    public let interrupter: TerminalInterrupter
    /// Whether cells are drawn in colour: the terminal has colours and `NO_COLOR` is unset or
    /// empty. Without colour, bold, dim, reverse and underline are still drawn.
    public let colorsEnabled: Bool
    /// Whether the locale's character set is UTF-8. When not, box-drawing and block characters
    /// are drawn as ASCII look-alikes (`+`, `-`, `|`, `#`…).
    public let unicodeEnabled: Bool

    let window: UnsafeMutablePointer<WINDOW>
    private let owner: pthread_t
    private var isOpen = true
    var encoder: CellEncoder
    /// One row of cells, reused by every frame.
    var rowBuffer: [cchar_t] = []
    /// Set by ``forceRedraw()`` and after a resize: the next ``draw(_:)`` repaints every cell.
    var needsFullRepaint = false
    /// Set when the terminal has gone away (input hung up).
    var disconnected = false

    private init(window: UnsafeMutablePointer<WINDOW>, interrupter: TerminalInterrupter, colorsEnabled: Bool, unicodeEnabled: Bool) {
        self.window = window
        self.interrupter = interrupter
        self.colorsEnabled = colorsEnabled
        self.unicodeEnabled = unicodeEnabled
        self.owner = pthread_self()
        self.encoder = CellEncoder(colorsEnabled: colorsEnabled, unicodeEnabled: unicodeEnabled)
    }

    /// Puts the terminal in curses mode, runs `body`, and restores the terminal however `body`
    /// ends (returning or throwing).
    ///
    /// In order: checks that standard input and output are terminals; `setlocale(LC_ALL, "")`
    /// (so UTF-8 box and block characters can be drawn); `newterm` on `$TERM`; cbreak, noecho,
    /// nonl, keypad, invisible cursor, a 25 ms Esc delay; colour pairs when the terminal has
    /// colour and `NO_COLOR` is unset or empty; stderr held back while it is a terminal (see
    /// ``StandardErrorCapture``); crash-signal handlers that restore the terminal. On the way out:
    /// the handlers are removed, `endwin`, then the held-back stderr is written.
    ///
    /// The calling thread owns the session (see the type's documentation).
    /// - Parameters:
    ///   - interrupter: lets other threads stop the session's key wait; create it first when a
    ///     signal thread needs it before the session starts.
    ///   - body: the session. Do not call `exit` in it: the terminal would not be restored.
    /// - Returns: what `body` returns.
    /// - Throws: ``TerminalError/notATerminal`` when standard input or output is not a terminal;
    ///   ``TerminalError/unsupportedTerminal(type:)`` when ncurses cannot drive `$TERM`;
    ///   ``TerminalError/sessionAlreadyActive`` when called inside another session; and whatever
    ///   `body` throws.
    public static func withTerminal<R>(
        interrupter: TerminalInterrupter = TerminalInterrupter(),
        _ body: (CursesTerminal) throws -> R
    ) throws -> R {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw TerminalError.notATerminal
        }
        guard sessionActive.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw TerminalError.sessionAlreadyActive
        }
        defer { sessionActive.store(false, ordering: .releasing) }
        interrupter.setSessionRunning(true)
        defer { interrupter.setSessionRunning(false) }

        _ = setlocale(LC_ALL, "")
        let unicodeEnabled = Self.localeIsUTF8
        let terminalType = getenv("TERM").map { String(cString: $0) } ?? ""
        guard let screen = cnc_newterm_stdio() else {
            throw TerminalError.unsupportedTerminal(type: terminalType)
        }
        guard cnc_has_cursor_addressing() != 0, let window = cnc_stdscr() else {
            _ = endwin()
            delscreen(screen)
            throw TerminalError.unsupportedTerminal(type: terminalType)
        }
        _ = cbreak()
        _ = noecho()
        _ = nonl()
        _ = intrflush(window, false)
        _ = keypad(window, true)
        _ = curs_set(0)
        _ = set_escdelay(25)
        // Wheel scrolls a pane, a click focuses it and selects a row (see `KeyDecoder.mouse`).
        cnc_enable_mouse()
        let colorsEnabled = !ColorPalette.colorDisabledByEnvironment && ColorPalette.setUp()
        let terminal = CursesTerminal(window: window, interrupter: interrupter, colorsEnabled: colorsEnabled, unicodeEnabled: unicodeEnabled)
        StandardErrorCapture.begin()
        CrashSignalGuard.install()
        TerminalStop.install()
        defer {
            // Every exit path: handlers off, curses mode off, held-back stderr shown.
            TerminalStop.remove()
            CrashSignalGuard.remove()
            terminal.isOpen = false
            _ = endwin()
            StandardErrorCapture.end()
            delscreen(screen)
        }
        return try body(terminal)
    }

    /// The terminal's current size in cells. After ``readKey(timeoutMilliseconds:)`` returned
    /// ``KeyInput/resize`` it is the new size.
    public var size: (width: Int, height: Int) {
        checkOwner()
        var rows: Int32 = 0
        var columns: Int32 = 0
        cnc_getmaxyx(window, &rows, &columns)
        return (Int(columns), Int(rows))
    }

    /// Whether the session's ``interrupter`` has been triggered: the loop should end.
    public var isInterrupted: Bool {
        interrupter.isInterrupted
    }

    /// Whether the terminal has gone away (its input hung up, as when the terminal window is
    /// closed). `readKey` then returns `nil` at once; the loop should end.
    public var isDisconnected: Bool {
        checkOwner()
        return disconnected
    }

    /// Makes the next ``draw(_:)`` clear the screen and repaint every cell, repairing whatever
    /// else wrote to the terminal. For Ctrl-L.
    public func forceRedraw() {
        checkOwner()
        needsFullRepaint = true
    }

    /// Stops the program when the session is used from a thread that does not own it, or after
    /// it ended.
    func checkOwner() {
        precondition(isOpen, "CursesTerminal used after its withTerminal body returned")
        precondition(pthread_equal(pthread_self(), owner) != 0, "CursesTerminal used from a thread that does not own the terminal")
    }

    /// Whether `LC_CTYPE`'s character set is UTF-8.
    private static var localeIsUTF8: Bool {
        guard let codeset = nl_langinfo(nl_item(CODESET)) else { return false }
        let name = String(cString: codeset).uppercased()
        return name == "UTF-8" || name == "UTF8"
    }
}

/// One thread owns the terminal: a session must never cross to another thread.
@available(*, unavailable)
extension CursesTerminal: Sendable {}
