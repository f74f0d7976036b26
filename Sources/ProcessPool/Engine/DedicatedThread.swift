import CSystemShims
import Glibc

/// Starts an OS thread of its own for a blocking loop (the pool's IO thread), and says so when
/// the system refuses one.
///
/// Foundation's `Thread.start()` cannot fail: when `pthread_create` does (`ulimit -u` reached,
/// no address space left for a stack under `ulimit -v`) the body silently never runs, and whoever
/// waits for it waits forever.
enum DedicatedThread {
    private final class Body {
        let name: String
        let run: () -> Void
        init(_ name: String, _ run: @escaping () -> Void) {
            self.name = name
            self.run = run
        }
    }

    /// Runs `body` on a new detached thread; `name` says what it is for in an error, and names
    /// the thread for `top -H`, `perf` and gdb (the kernel keeps its first 15 bytes).
    /// - Throws: ``PoolError/Code/spawnFailed`` with the reason when the thread cannot be created.
    static func start(name: String, _ body: @escaping () -> Void) throws {
        let context = Unmanaged.passRetained(Body(name, body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            // Without a name of its own the thread shows its creator's (a Swift concurrency
            // thread's, often), which makes a profile of the pool unreadable.
            _ = cshim_set_thread_name(body.name)
            body.run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw PoolError(.spawnFailed, "cannot start a thread for the pool (\(name)): \(ResourceShortage.describe(rc))")
        }
        pthread_detach(thread)
    }
}
