import CNCurses
import Glibc
import Synchronization

/// Ctrl-Z (SIGTSTP) during a session: the owning thread leaves curses mode, the application
/// stops what runs beside it (a pool's workers live in process groups of their own, so the
/// terminal's SIGTSTP never reaches them), the process stops as a shell expects, and on `fg`
/// (SIGCONT) the terminal is set up again and repainted.
///
/// The handler only records the request (an atomic store, async-signal-safe); the session's
/// thread acts on it between keys (``CursesTerminal/takeStopRequest()``), since ncurses may
/// only be called from there. ncurses's own SIGTSTP handler, which would stop the process
/// without telling the application, is replaced while a session runs.
enum TerminalStop {
    /// Set by the handler, cleared by the session's thread.
    static let requested = Atomic<Bool>(false)

    /// Installs the SIGTSTP handler. Call after the terminal is in curses mode.
    static func install() {
        // Initialised here, on an ordinary thread: the handler must not be the first to touch it.
        requested.store(false, ordering: .relaxed)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            TerminalStop.requested.store(true, ordering: .relaxed)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGTSTP, &action, nil)
    }

    /// Puts SIGTSTP back to its default action. Call before leaving curses mode.
    static func remove() {
        signal(SIGTSTP, SIG_DFL)
    }
}

extension CursesTerminal {
    /// Whether Ctrl-Z (SIGTSTP) asked the session to stop since the last call; clears the request.
    public func takeStopRequest() -> Bool {
        checkOwner()
        return TerminalStop.requested.exchange(false, ordering: .relaxed)
    }

    /// Stops the process as the shell's job control expects, with the terminal as it was before
    /// the session, and returns once it is continued (`fg`, SIGCONT), back in curses mode, with
    /// the next ``draw(_:)`` repainting every cell.
    /// - Parameters:
    ///   - beforeStop: runs in curses mode just before (stop the workers with the monitor).
    ///   - afterContinue: runs once continued (continue the workers).
    public func suspendForJobControl(beforeStop: () -> Void, afterContinue: () -> Void) {
        checkOwner()
        beforeStop()
        _ = def_prog_mode()
        _ = endwin()
        // Stop for real: SIGSTOP stops every thread, and the shell sees a stopped job. Not
        // SIGTSTP: the kernel discards a SIGTSTP at its default action in some states (an
        // orphaned process group), and a stop that does not happen would leave the workers
        // stopped under a running monitor. `kill` returns once we have been continued.
        TerminalStop.remove()
        kill(getpid(), SIGSTOP)
        // Continued.
        TerminalStop.install()
        _ = reset_prog_mode()
        _ = refresh()
        needsFullRepaint = true
        afterContinue()
    }
}
