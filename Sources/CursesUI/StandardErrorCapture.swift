import CNCurses
import Glibc
import Synchronization

/// Holds back what the process writes to standard error while the screen is in curses mode,
/// and shows it once the terminal is restored.
///
/// Anything written to a terminal's stderr during a session (a library's warning, Swift's
/// `Fatal error: …` just before a crash) would scribble over the screen, and then vanish when
/// `endwin` leaves the alternate screen. So while a session runs, file descriptor 2 points to an
/// in-memory file; when the session ends, normally or in the crash handler, descriptor 2 is put
/// back and the text is written to it. Only done when stderr is a terminal: a redirected stderr
/// cannot disturb the screen and is left alone.
enum StandardErrorCapture {
    /// The original stderr (a duplicate of it), or -1 when not capturing.
    private static let savedDescriptor = Atomic<Int32>(-1)
    /// The in-memory file standing in for stderr, or -1.
    private static let captureDescriptor = Atomic<Int32>(-1)

    /// Starts capturing if stderr is a terminal. Owning thread, at the session's start.
    static func begin() {
        // Touch both statics here, so the crash handler never runs their lazy initialisation.
        savedDescriptor.store(-1, ordering: .releasing)
        captureDescriptor.store(-1, ordering: .releasing)
        guard isatty(STDERR_FILENO) == 1 else { return }
        let capture = cnc_memfd_create("curses-stderr")
        guard capture >= 0 else { return }
        let saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)
        guard saved >= 0 else {
            close(capture)
            return
        }
        guard dup2(capture, STDERR_FILENO) >= 0 else {
            close(capture)
            close(saved)
            return
        }
        captureDescriptor.store(capture, ordering: .releasing)
        savedDescriptor.store(saved, ordering: .releasing)
    }

    /// Puts stderr back and writes what was captured to it. Owning thread, after `endwin`.
    static func end() {
        restore()
        let capture = captureDescriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if capture >= 0 { close(capture) }
    }

    /// Puts stderr back and writes what was captured, leaving the capture file open. Uses only
    /// async-signal-safe calls and lock-free atomics: the crash handler calls it after `endwin`.
    static func restore() {
        let saved = savedDescriptor.load(ordering: .acquiring)
        let capture = captureDescriptor.load(ordering: .acquiring)
        guard saved >= 0, capture >= 0 else { return }
        // Once back, a second call (crash handler, then end) must not replay again.
        guard savedDescriptor.compareExchange(expected: saved, desired: -1, ordering: .acquiringAndReleasing).exchanged else { return }
        _ = dup2(saved, STDERR_FILENO)
        cnc_copy_file_contents(capture, STDERR_FILENO)
        close(saved)
    }
}
