import Foundation
import Glibc
import Synchronization

/// Turns every signal whose default action would end poolmon into an orderly stop: the installed
/// cleanup runs (terminate the pool and reap its workers, restore the terminal), then the process
/// exits with status 128 + signal.
///
/// That is SIGINT, SIGTERM, SIGHUP, SIGQUIT (Ctrl-\), SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM,
/// SIGPROF, SIGIO, SIGPWR, SIGSTKFLT, SIGXCPU, SIGXFSZ and the real-time signals. A signal that
/// was ignored when poolmon started (`nohup`, a shell's background job) stays ignored. SIGPIPE is
/// ignored: a closed pipe shows up as EPIPE where poolmon writes, and is handled there. Crash
/// signals (SIGSEGV, SIGABRT…) are ``CrashSignalGuard``'s business.
///
/// The handler only writes the signal number to a pipe (async-signal-safe); a dedicated thread
/// reads it and runs the cleanup as ordinary code. Blocking the signals and using `sigwait`
/// would not do: threads the runtime started before `main` would still take them.
enum SignalStop {
    /// The signals that stop poolmon in order, whatever their default action (end or core dump).
    static let signals: [Int32] = {
        var list = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF,
                    SIGIO, SIGPWR, SIGSTKFLT, SIGXCPU, SIGXFSZ]
        list += Array(__libc_current_sigrtmin()...__libc_current_sigrtmax())
        return list
    }()
    private static let cleanup = Mutex<(@Sendable () -> Void)?>(nil)
    private static let stopping = Atomic<Bool>(false)

    /// Installs the handlers and starts the thread. Call once, early in `main`, before other
    /// threads start.
    static func start() {
        // Writes to a closed pipe fail with EPIPE instead of killing the process (the engine's
        // pipes to workers, standard output under `| head`).
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        // Above 2, whatever was closed at start: a signal pipe on descriptor 1 would take the
        // totals for a signal.
        for (index, fd) in fds.enumerated() where fd <= 2 {
            fds[index] = fcntl(fd, F_DUPFD_CLOEXEC, 3)
            close(fd)
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        signalPipeWriteEnd = fds[1]
        let readEnd = fds[0]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            let saved = errno
            var byte = UInt8(truncatingIfNeeded: signal)
            _ = write(signalPipeWriteEnd, &byte, 1)
            errno = saved
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in signals {
            var previous = sigaction()
            guard sigaction(signal, nil, &previous) == 0 else { continue }
            // Ignored by whoever started us (nohup, a background job): leave it so.
            if unsafeBitCast(previous.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { continue }
            sigaction(signal, &action, nil)
            sigaddset(&unblock, signal)
        }
        // A parent may have started us with these blocked (a thread of Swift's cooperative pool
        // often has); unblock them here so they reach the handler.
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

    /// Stops poolmon as if `signal` had arrived (cleanup, then exit with 128 + signal): for a
    /// condition found by other means, such as standard output's reader going away (SIGPIPE).
    static func stop(as signal: Int32) {
        var byte = UInt8(truncatingIfNeeded: signal)
        _ = write(signalPipeWriteEnd, &byte, 1)
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
