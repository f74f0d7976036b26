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
/// A signal thread that ends the process itself must not exit while the session still owns the
/// terminal; ``interruptAndWait(timeout:)`` waits for the session to restore it first:
///
/// ```swift
/// let interrupter = TerminalInterrupter()
/// onStopSignal { _ = interrupter.interruptAndWait(timeout: .seconds(2)) }  // then exit
/// try CursesTerminal.withTerminal(interrupter: interrupter) { terminal in
///     while !terminal.isInterrupted, !terminal.isDisconnected {
///         if let key = terminal.readKey(timeoutMilliseconds: 1000) { handle(key) }
///         terminal.draw(render(size: terminal.size))
///     }
/// }
/// ```
public final class TerminalInterrupter: Sendable {
    private let interrupted = Atomic<Bool>(false)
    private let sessionRunning = Atomic<Bool>(false)

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

    /// Whether a session using this interrupter is running: from the start of `withTerminal`
    /// until the terminal has been restored and held-back stderr written.
    public var isSessionRunning: Bool {
        sessionRunning.load(ordering: .acquiring)
    }

    /// Interrupts, then waits until no session using this interrupter is running (the terminal
    /// is restored), or `timeout` passes. Call it on an ordinary thread: it sleeps in steps of
    /// 5 ms.
    /// - Returns: `true` when no session was running by the end (or none had started).
    @discardableResult
    public func interruptAndWait(timeout: Duration) -> Bool {
        interrupt()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while isSessionRunning {
            if clock.now >= deadline { return false }
            var pause = timespec(tv_sec: 0, tv_nsec: 5_000_000)
            nanosleep(&pause, nil)
        }
        return true
    }

    /// Called by `withTerminal` when a session starts and when it has fully ended.
    func setSessionRunning(_ running: Bool) {
        sessionRunning.store(running, ordering: .releasing)
    }
}
