import Glibc
import Synchronization

/// Stops a terminal session's key wait from any thread.
///
/// ncurses must only be called by the thread that owns the terminal, so other threads (a
/// `sigwait` thread handling SIGINT/SIGTERM/SIGHUP, an engine callback) cannot touch the screen.
/// They call ``interrupt()`` instead: it sets an atomic flag that
/// ``CursesTerminal/readKey(timeoutMilliseconds:)`` checks between short ncurses waits (at most
/// ``CursesTerminal/interruptLatencyMilliseconds`` each), so a pending `readKey` returns `nil`
/// within that time, and every later `readKey` returns `nil` at once. The owning thread sees
/// ``isInterrupted`` (or ``CursesTerminal/isInterrupted``), leaves its loop, and `withTerminal`
/// restores the terminal on the way out.
///
/// The flag is sticky: an interruption that arrives while the UI thread is drawing, or before the
/// session has even started, is not lost.
///
/// ```swift
/// let interrupter = TerminalInterrupter()
/// stopOnSignal { interrupter.interrupt() }          // runs on another thread
/// try CursesTerminal.withTerminal(interrupter: interrupter) { terminal in
///     while !terminal.isInterrupted {
///         if let key = terminal.readKey(timeoutMilliseconds: 1000) { handle(key) }
///         terminal.draw(render())
///     }
/// }
/// ```
public final class TerminalInterrupter: Sendable {
    private let interrupted = Atomic<Bool>(false)
    private let ended = Atomic<Bool>(false)

    public init() {}

    /// Asks the session to stop: the owning thread's `readKey` returns `nil` promptly.
    /// Safe to call from any thread, any number of times, even from a signal handler: it is one
    /// lock-free atomic store.
    public func interrupt() {
        interrupted.store(true, ordering: .releasing)
    }

    /// Whether ``interrupt()`` has been called.
    public var isInterrupted: Bool {
        interrupted.load(ordering: .acquiring)
    }

    /// Whether a session that used this interrupter has ended and restored the terminal.
    public var hasEnded: Bool {
        ended.load(ordering: .acquiring)
    }

    /// Interrupts, then waits until the session has restored the terminal (or `timeout` passes).
    ///
    /// For a signal thread that must exit the process itself: exiting before the UI thread has
    /// left `withTerminal` would leave the terminal in curses mode.
    /// - Returns: `true` when the session ended in time (or had already ended).
    @discardableResult
    public func interruptAndWait(timeout: Duration) -> Bool {
        interrupt()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while !hasEnded {
            if clock.now >= deadline { return false }
            // A plain sleep: this is called on a dedicated thread, never on the cooperative pool.
            var pause = timespec(tv_sec: 0, tv_nsec: 5_000_000)
            nanosleep(&pause, nil)
        }
        return true
    }

    /// Called by the session when the terminal has been restored.
    func markEnded() {
        ended.store(true, ordering: .releasing)
    }

    /// Called by the session when it starts (a reused interrupter is not "ended" any more).
    func markStarted() {
        ended.store(false, ordering: .releasing)
    }
}
