import CSystemShims
import Foundation
import Glibc
import Synchronization

/// What the API side and the IO thread share: the command inbox, the lifecycle, the event hub and
/// a snapshot of the workers. Everything mutable is behind a `Mutex`.
final class PoolShared: Sendable {
    enum Lifecycle: Sendable { case running, closed, terminated }

    struct State: Sendable {
        var lifecycle = Lifecycle.running
        var inbox: [PoolCommand] = []
        var finished = false
        var workerPIDs: [Int32] = []
        var targetWorkers: Int
        /// The chunk size for the next submissions, when a monitor (or the program) set one.
        var chunksizeOverride: Int?
        /// Jobs submitted and not complete (for a monitor's hello).
        var runningJobs = 0
        /// Tasks awaiting the IO thread's end (``waitUntilFinished()`` in its `async` form).
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let state: Mutex<State>
    let events: EventHub
    /// An eventfd the IO thread sleeps on along with the pipes; written when the inbox fills.
    let wakeFD: Int32
    private let finishedCondition = NSCondition()
    private let nextJob = Atomic<Int>(1)
    /// Numbers the pools of this process from 1, in the order they were created.
    private static let nextPoolID = Atomic<Int>(1)
    /// This pool's number among the pools of this process (see ``PoolEvent/Kind/poolCreated(pool:pid:workers:)``).
    let poolID = PoolShared.nextPoolID.wrappingAdd(1, ordering: .relaxed).oldValue

    var chunksizeOverride: Int? { state.withLock { $0.chunksizeOverride } }

    /// Sends `signal` to a current worker, through the IO thread (see ``ProcessPool/signalWorker(pid:signal:)``).
    func signalWorker(pid: Int32, signal: Int32) throws(PoolError) {
        guard signal >= 1 && signal <= 64 else {
            throw PoolError(.invalidArgument, "\(signal) is not a signal number (1…64)")
        }
        let reply = CommandReply()
        let wake = try state.withLock { state throws(PoolError) -> Bool in
            guard !state.finished else {
                throw PoolError(.invalidArgument, "process \(pid) is not a worker of this pool (the pool has finished)")
            }
            state.inbox.append(.signalWorker(pid: pid, signal: signal, reply: reply))
            return state.inbox.count == 1
        }
        if wake { wakeUp() }
        try reply.wait()
    }

    /// Sets the chunk size for the next submissions (values below 1 mean none) and announces it.
    func setChunksizeOverride(_ newValue: Int?) {
        let value = newValue.flatMap { $0 >= 1 ? $0 : nil }
        let changed = state.withLock { state -> Bool in
            guard state.chunksizeOverride != value else { return false }
            state.chunksizeOverride = value
            return true
        }
        if changed { try? send(.chunksizeChanged(value), always: true) }
    }

    init(targetWorkers: Int, origin: UInt64) throws {
        state = Mutex(State(targetWorkers: targetWorkers))
        events = EventHub(origin: origin)
        wakeFD = cshim_eventfd()
        guard wakeFD >= 0 else { throw PoolError(.spawnFailed, "cannot create the pool's eventfd: \(ResourceShortage.describe(errno))") }
    }

    deinit { close(wakeFD) }

    func makeJobID() -> Int { nextJob.wrappingAdd(1, ordering: .relaxed).oldValue }

    /// Queues a command for the IO thread, unless the pool stopped taking work.
    /// - Throws: ``PoolError/Code/notRunning`` after `close()` or `terminate()` (unless `always`).
    func send(_ command: PoolCommand, always: Bool = false) throws {
        let wake: Bool = try state.withLock { state in
            guard always || state.lifecycle == .running else {
                throw PoolError(.notRunning, state.lifecycle == .closed
                    ? "the pool is closed: no new work can be submitted"
                    : "the pool was terminated: no new work can be submitted")
            }
            state.inbox.append(command)
            return state.inbox.count == 1
        }
        if wake { wakeUp() }
    }

    func wakeUp() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    func takeCommands() -> [PoolCommand] {
        var drained: UInt64 = 0
        _ = read(wakeFD, &drained, 8)
        return state.withLock { state in
            let commands = state.inbox
            state.inbox = []
            return commands
        }
    }

    func markFinished() {
        let waiters = state.withLock { state in
            state.finished = true
            defer { state.finishWaiters = [] }
            return state.finishWaiters
        }
        finishedCondition.lock()
        finishedCondition.broadcast()
        finishedCondition.unlock()
        for waiter in waiters { waiter.resume() }
    }

    /// Suspends until the IO thread has ended (every worker reaped), without blocking a thread:
    /// the IO thread resumes the continuation as it finishes.
    func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state -> Bool in
                if state.finished { return true }
                state.finishWaiters.append(continuation)
                return false
            }
            if finished { continuation.resume() }
        }
    }

    /// Blocks until the IO thread has ended (every worker reaped).
    func waitUntilFinished() {
        finishedCondition.lock()
        while !state.withLock({ $0.finished }) { finishedCondition.wait() }
        finishedCondition.unlock()
    }
}
