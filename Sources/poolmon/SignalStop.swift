import Foundation
import Glibc
import Synchronization

/// Turns SIGINT, SIGTERM and SIGHUP into an orderly stop: the installed cleanup runs (terminate
/// the pool, restore the terminal), then the process exits with status 128 + signal.
///
/// The handler only writes the signal number to a pipe (async-signal-safe); a dedicated thread
/// reads it and runs the cleanup as ordinary code. Blocking the signals and using `sigwait`
/// would not do: threads the runtime started before `main` would still take them.
enum SignalStop {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    private static let cleanup = Mutex<(@Sendable () -> Void)?>(nil)
    private static let stopping = Atomic<Bool>(false)

    /// Installs the handlers and starts the thread. Call once, early in `main`.
    static func start() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        signalPipeWriteEnd = fds[1]
        let readEnd = fds[0]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            var byte = UInt8(truncatingIfNeeded: signal)
            _ = write(signalPipeWriteEnd, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        for signal in signals { sigaction(signal, &action, nil) }
        // A parent may have started us with these blocked (a thread of Swift's cooperative pool
        // often has); unblock them here so they reach the handler.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in signals { sigaddset(&unblock, signal) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)

        let thread = Thread {
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) != 1 {}
            stopping.store(true, ordering: .sequentiallyConsistent)
            let action = cleanup.withLock { $0 }
            action?()
            exit(128 + Int32(byte))
        }
        thread.name = "signals"
        thread.start()
    }

    /// Once a signal's cleanup has begun, blocks forever: the signal thread exits the process
    /// with 128 + signal, and no other path may exit first with another status.
    static func waitIfStopping() {
        guard stopping.load(ordering: .sequentiallyConsistent) else { return }
        while true { pause() }
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

// Safe: written once in `SignalStop.start()` before any handler is installed, only read after
// (by the signal handler, which cannot take a lock).
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1
