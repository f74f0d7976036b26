import CNCurses
import Glibc

/// Restores the terminal when the process crashes during a session, then lets the crash proceed
/// as it would have without us.
///
/// While installed, SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE and SIGABRT run a handler that puts
/// every one of these signals back to its previous action (the default, or the Swift runtime's
/// backtracer), calls `endwin`, shows what ``StandardErrorCapture`` held back (such as Swift's
/// `Fatal error: …` message), and then:
/// - for a fault the kernel raised (`si_code > 0`: a bad access, a Swift trap's `ud2`/`brk`),
///   simply returns: the faulting instruction runs again, faults again, and meets the previous
///   action with the original context (so a backtrace still points at the crash);
/// - for a signal a process sent (`abort()`, `kill`), sends it again with `raise`; it is
///   delivered with the previous action as soon as the handler returns.
///
/// `endwin` is not async-signal-safe; it is what ncurses itself does in its own SIGINT/SIGTERM
/// handler, and it is attempted once: the previous actions are back in place first, so a second
/// fault inside it ends the process the ordinary way.
///
/// SIGWINCH is left alone (ncurses installs its own handler and reports `KEY_RESIZE`), and so are
/// SIGINT/SIGTERM/SIGHUP (the application handles those on its own thread).
enum CrashSignalGuard {
    /// The crash signals handled, in the order of ``previousActions``.
    static let signals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT]

    /// The actions in place before ``install()``, one per entry of ``signals``.
    ///
    /// `nonisolated(unsafe)` is safe here: the pointer itself never changes, and the storage it
    /// points to is written only by ``install()`` (by `sigaction`, before the handler can run)
    /// and read by ``remove()`` and the handler. `install` and `remove` run on the thread that
    /// owns the terminal, never at the same time (one session at a time, enforced by
    /// `CursesTerminal`). A plain C buffer, so the handler reads it without touching Swift
    /// reference counts or allocating.
    nonisolated(unsafe) private static let previousActions: UnsafeMutablePointer<sigaction> = {
        let buffer = UnsafeMutablePointer<sigaction>.allocate(capacity: 6)
        buffer.initialize(repeating: sigaction(), count: 6)
        return buffer
    }()

    /// Installs the handlers. Call after the terminal is in curses mode.
    static func install() {
        precondition(signals.count == 6)
        let actions = previousActions
        for (index, signal) in signals.enumerated() {
            _ = cnc_install_signal_handler(signal, { signal, info, _ in
                CrashSignalGuard.handle(signal, code: cnc_signal_code(info))
            }, actions + index)
        }
    }

    /// Puts the previous actions back. Call before leaving curses mode.
    static func remove() {
        let actions = previousActions
        for (index, signal) in signals.enumerated() {
            _ = cnc_restore_signal_action(signal, actions + index)
        }
    }

    /// The body of the signal handler.
    /// - Parameters:
    ///   - signal: the signal being handled.
    ///   - code: its `si_code`.
    private static func handle(_ signal: Int32, code: Int32) {
        let actions = previousActions
        // Signals in the fixed order of `signals`; spelled out so the handler touches no Swift array.
        _ = cnc_restore_signal_action(SIGSEGV, actions + 0)
        _ = cnc_restore_signal_action(SIGBUS, actions + 1)
        _ = cnc_restore_signal_action(SIGILL, actions + 2)
        _ = cnc_restore_signal_action(SIGTRAP, actions + 3)
        _ = cnc_restore_signal_action(SIGFPE, actions + 4)
        _ = cnc_restore_signal_action(SIGABRT, actions + 5)
        _ = endwin()
        StandardErrorCapture.restore()
        if code <= 0 {
            _ = raise(signal)
        }
    }
}
