import Glibc

/// Checks, before Swift's runtime starts its threads, that the system leaves poolmon room to
/// run: descriptors and threads.
///
/// With very few descriptors (`ulimit -n` below ``minimumDescriptors``) the runtime's own event
/// loop cannot start and the process traps; under a low process limit (`ulimit -u`, which counts threads) or address-space limit
/// (`ulimit -v`, which thread stacks use up), the runtime's thread pool waits forever for a
/// thread it cannot create: poolmon would print nothing and never exit. Starting a few threads
/// at once here, and ending them, shows whether there is room; if not, poolmon says which limit
/// is in the way and exits.
enum StartupLimits {
    /// Descriptors poolmon needs at the least: the standard three, the runtime's event loop, the
    /// signal pipe, the pool's epoll set and eventfd, and one worker's pipes and pidfd (with the
    /// two ends only the child keeps, while it starts).
    static let minimumDescriptors: UInt64 = 16

    /// Threads poolmon runs besides the main one: the runtime's (about four on two CPUs), the
    /// signal thread, the pool's IO thread, the output watcher.
    static let needed = 6

    /// Exits with status 71 and one line on standard error when descriptors are too few or
    /// `needed` threads cannot start.
    static func requireOrExit() {
        var files = rlimit()
        if getrlimit(__rlimit_resource_t(7), &files) == 0 && files.rlim_cur < minimumDescriptors {
            StandardStreams.complain("poolmon: too few open files allowed: the limit (ulimit -n) is \(files.rlim_cur), and poolmon needs at least \(minimumDescriptors)")
            exit(71)
        }
        if let failure = probe(threads: needed) {
            StandardStreams.complain("poolmon: cannot start the threads it needs (\(describe(failure))); raise the limit and try again")
            exit(71)
        }
    }

    /// Starts `threads` threads that all wait on one lock, then lets them end.
    /// - Returns: `pthread_create`'s error, or `nil` when every thread started.
    static func probe(threads: Int) -> Int32? {
        let gate = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(gate, nil)
        defer {
            pthread_mutex_destroy(gate)
            gate.deallocate()
        }
        pthread_mutex_lock(gate)
        var started: [pthread_t] = []
        var failure: Int32?
        for _ in 0..<threads {
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { gate in
                let mutex = gate!.assumingMemoryBound(to: pthread_mutex_t.self)
                pthread_mutex_lock(mutex)
                pthread_mutex_unlock(mutex)
                return nil
            }, gate)
            if rc != 0 {
                failure = rc
                break
            }
            started.append(thread)
        }
        pthread_mutex_unlock(gate)
        for thread in started { pthread_join(thread, nil) }
        return failure
    }

    /// The error in words, with the limits that cause it.
    static func describe(_ code: Int32) -> String {
        func limit(_ resource: Int32, unit: String = "") -> String {
            var value = rlimit()
            guard getrlimit(__rlimit_resource_t(resource), &value) == 0, value.rlim_cur != rlim_t.max else { return "unlimited" }
            return unit == "KiB" ? "\(value.rlim_cur / 1024) KiB" : "\(value.rlim_cur)"
        }
        // Linux's RLIMIT_NPROC (6) and RLIMIT_AS (9): glibc's macros do not import.
        let limits = "processes and threads per user (ulimit -u): \(limit(6)); address space (ulimit -v): \(limit(9, unit: "KiB"))"
        return "\(String(cString: strerror(code))); limits: \(limits)"
    }
}
