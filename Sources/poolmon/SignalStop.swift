import Foundation
import Glibc
import Synchronization

/// Turns SIGINT, SIGTERM and SIGHUP into an orderly stop: the installed cleanup runs (terminate
/// the pool, restore the terminal), then the process exits with status 128 + signal.
///
/// The signals are blocked in every thread and taken by one thread with `sigwait`, so the cleanup
/// runs as ordinary code, not in a signal handler.
enum SignalStop {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    private static let cleanup = Mutex<(@Sendable () -> Void)?>(nil)

    /// Blocks the signals and starts the waiting thread. Call once, before other threads start.
    static func start() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let blocked = set
        let thread = Thread {
            var received: Int32 = 0
            var waitSet = blocked
            while sigwait(&waitSet, &received) != 0 {}
            let action = cleanup.withLock { $0 }
            action?()
            exit(128 + received)
        }
        thread.name = "signals"
        thread.start()
    }

    /// Sets what runs on a signal until the returned token is cancelled.
    static func install(_ action: @escaping @Sendable () -> Void) -> Token {
        cleanup.withLock { $0 = action }
        return Token()
    }

    struct Token {
        func cancel() { SignalStop.cleanup.withLock { $0 = nil } }
    }
}
