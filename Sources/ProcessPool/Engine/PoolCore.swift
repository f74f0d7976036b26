import CSystemShims
import DequeModule
import Glibc

/// The engine proper. It lives on one dedicated IO thread, which owns every field here: no locks
/// inside, and no blocking call other than `epoll_wait`. API calls reach it through
/// ``PoolShared``'s command inbox and eventfd.
///
/// One epoll set watches the eventfd, each worker's result pipe, its pidfd (exit), its output pipe
/// (when captured) and, while a write is pending, its command pipe.
final class PoolCore: @unchecked Sendable {
    // Safe: `ProcessPool.init` builds the core, hands it to the IO thread's closure and keeps no
    // reference; from then on only the IO thread touches it.
    /// Work waiting in the queue: a run of a job's chunks, or the unfinished rest of one chunk.
    struct QueuedWork {
        let job: JobRecord
        var chunk: Int
        var start: Int
        let end: Int
        /// The rest of a chunk whose worker died: goes out whole, and the worker reports and
        /// flushes each item (so that a second death names the right item).
        let isRemainder: Bool
    }

    enum Lifecycle { case running, closing, terminating }

    private enum TokenKind: UInt64 { case result = 0, exit = 1, command = 2, output = 3 }
    private static let wakeToken: UInt64 = 0
    static let epollIn: UInt32 = 0x001
    static let epollOut: UInt32 = 0x004

    let shared: PoolShared
    let settings: PoolSettings
    let spawner: WorkerSpawner
    /// Workers' standard-error lines to ours, when output is not captured.
    private var stderrForwarder = StandardErrorForwarder()
    private let epollFD: Int32
    /// Events of the current turn of the loop, handed to subscribers at its end.
    private let events: EventBatch

    private var workers: [UInt64: WorkerRecord] = [:]
    private var slots: [WorkerRecord?] = []
    private var targetWorkers: Int
    private var queue = Deque<QueuedWork>()
    private var queuedItems = 0
    private var queuedChunks = 0
    private var jobs: [Int: JobRecord] = [:] {
        // Published for a monitor's hello (a lock per job submitted or completed, not per item).
        didSet { let count = jobs.count; shared.state.withLock { $0.runningJobs = count } }
    }
    private var lifecycle = Lifecycle.running
    private var nextWorkerID: UInt64 = 1
    private var startFailuresInARow = 0
    /// Set when the pool can no longer run tasks (initializer failing, workers not starting).
    private var brokenError: PoolError?
    private var workersChanged = false
    /// Tells an OOM kill from another SIGKILL (the cgroup's `oom_kill` count), for death reports.
    private var oomKills = OOMKillCounter()
    /// Launches in a row that ended before the worker's identity frame, per ssh host: past a few,
    /// that host's slots are started on another (see ``LaunchCommand/host(forSlot:failures:)``).
    private var launchFailures: [String: Int] = [:]

    init(shared: PoolShared, settings: PoolSettings, spawner: WorkerSpawner, workers: Int) throws {
        self.shared = shared
        self.settings = settings
        self.spawner = spawner
        self.targetWorkers = workers
        events = EventBatch(hub: shared.events)
        epollFD = cshim_epoll_create()
        guard epollFD >= 0 else { throw PoolError(.spawnFailed, "cannot create the pool's epoll set: \(ResourceShortage.describe(errno))") }
        watch(shared.wakeFD, token: Self.wakeToken)
    }

    /// Spawns the first workers. Must run on the IO thread, like every later spawn: a worker's
    /// PR_SET_PDEATHSIG fires when the *thread* that spawned it exits, and the caller of
    /// `ProcessPool.init` may be a cooperative-pool thread that the runtime retires at any time.
    /// - Throws: the spawn error, after killing and reaping the workers already started.
    func startWorkers() throws {
        do {
            for slot in 0..<targetWorkers { try spawnWorker(slot: slot) }
        } catch {
            for worker in workers.values { kill(worker.localPID, SIGKILL) }
            var usage = rusage()
            for worker in workers.values { reapBlocking(worker, usage: &usage) }
            workers.removeAll()
            close(epollFD)
            throw error
        }
        publishWorkers()
    }

    // MARK: the loop

    /// Runs until the pool is closed and drained, or terminated, and every worker is reaped.
    func run() {
        var readyEvents = [UInt32](repeating: 0, count: 256)
        var tokens = [UInt64](repeating: 0, count: 256)
        // The first workers' hello frames (with the initializer) go out now, not at the first
        // wake-up: the initializer runs as each worker starts, and a failing one shows at once.
        flushAllOutboxes()
        var eventsHeld = false
        while !isFinished {
            var timeout = nextDeadlineTimeout()
            // `epoll_wait`'s timeout, at most `limit` milliseconds (-1 waits without one).
            func wakeWithin(_ limit: Int32) { timeout = timeout < 0 ? limit : min(timeout, limit) }
            // Events held back for a moment (see ``EventBatch/deliveryInterval``) go out within it.
            if eventsHeld { wakeWithin(EventBatch.deliveryIntervalMilliseconds) }
            // Workers' stderr lines waiting for a slow reader of ours: retry soon.
            if stderrForwarder.hasPending {
                stderrForwarder.drain()
                if stderrForwarder.hasPending { wakeWithin(StandardErrorForwarder.retryMilliseconds) }
            }
            let count = cshim_epoll_wait(epollFD, &readyEvents, &tokens, 256, timeout)
            if count < 0 {
                if errno == EINTR { continue }
                fatalError("epoll_wait failed: \(errnoDescription())")
            }
            for i in 0..<Int(count) { handle(token: tokens[i], events: readyEvents[i]) }
            if settings.taskTimeout != nil { enforceTimeouts() }
            if settings.startupTimeout != nil { enforceStartupTimeout() }
            dispatch()
            flushAllOutboxes()
            eventsHeld = events.flushIfDue()
            if workersChanged { publishWorkers() }
        }
        close(epollFD)
        stderrForwarder.finish(within: 1000)
        events.emit(.poolStateChanged(.finished))
        events.finishAll()
        shared.markFinished()
        // Commands that arrived after the last turn: nobody will act on them now.
        for case .signalWorker(let pid, _, let reply) in shared.takeCommands() {
            reply.report(PoolError(.invalidArgument, "process \(pid) is not a worker of this pool (the pool has finished)"))
        }
    }

    private var isFinished: Bool {
        guard workers.isEmpty else { return false }
        switch lifecycle {
        case .running: return false
        case .closing: return jobs.isEmpty
        case .terminating: return true
        }
    }

    private func handle(token: UInt64, events mask: UInt32) {
        if token == Self.wakeToken {
            for command in shared.takeCommands() { apply(command) }
            return
        }
        guard let worker = workers[token >> 2], let kind = TokenKind(rawValue: token & 3) else { return }
        switch kind {
        case .result: readResults(worker)
        case .exit: handleExit(worker)
        case .command: flushOutbox(worker)
        case .output: readOutput(worker)
        }
    }

    // MARK: commands

    private func apply(_ command: PoolCommand) {
        switch command {
        case .submit(let submission): submit(submission)
        case .inputAvailable(let id):
            guard let job = jobs[id] else { return }
            takeInput(of: job)
        case .endInput(let id, let error):
            guard let job = jobs[id] else { return }
            takeInput(of: job)
            job.inputComplete = true
            job.inputError = error
            if job.isComplete { completeJob(job) }
        case .cancelJob(let id): cancelJob(id)
        case .resize(let count): resize(to: count)
        case .chunksizeChanged(let chunksize): events.emit(.settingsChanged(chunksize: chunksize))
        case .rechunk(let id, let chunksize): rechunk(id, chunksize: chunksize)
        case .signalWorker(let pid, let signal, let reply): signalWorker(pid: pid, signal: signal, reply: reply)
        case .activateSubscriber(let id): events.activate(id, snapshot: snapshot())
        case .close:
            guard lifecycle == .running else { return }
            lifecycle = .closing
            events.emit(.poolStateChanged(.closed))
            // Queued work finishes after close (Python's semantics) whether or not anyone reads
            // the results: the streams' windows no longer hold their inputs back.
            for job in jobs.values { job.feed?.lift() }
            if jobs.isEmpty { closeAllWorkers() }
        case .terminate: terminate()
        }
    }

    private func submit(_ submission: JobSubmission) {
        let job = JobRecord(submission)
        events.emit(.jobSubmitted(job.descriptor))
        if lifecycle == .terminating {
            job.abort(PoolError(.terminated, "the pool was terminated"))
            return
        }
        if let brokenError {
            job.abort(brokenError)
            events.emit(.jobCompleted(job: job.id, error: brokenError.message))
            return
        }
        jobs[job.id] = job
        enqueueChunks(of: job, from: 0)
        if job.isComplete { completeJob(job) }
    }

    /// Queues what a stream job's feeder has put in its ``InputFeed`` since the last time.
    private func takeInput(of job: JobRecord) {
        guard let feed = job.feed else { return }
        let items = feed.take()
        guard items.count > 0 else { return }
        let first = job.itemCount
        job.append(items)
        enqueueChunks(of: job, from: first)
    }

    private func enqueueChunks(of job: JobRecord, from first: Int) {
        guard first < job.itemCount else { return }
        let (firstChunk, chunks) = job.addChunks(from: first)
        queue.append(QueuedWork(job: job, chunk: firstChunk, start: first, end: job.itemCount, isRemainder: false))
        queuedItems += job.itemCount - first
        queuedChunks += chunks
        events.emit(.chunksQueued(job: job.id, firstChunk: firstChunk, chunks: chunks, start: first,
                                  count: job.itemCount - first, queue: queueDepth))
    }

    /// Cuts job `id`'s queued, not yet dispatched items again into chunks of `chunksize`
    /// (requeued remainders of dead workers' chunks stay as they are). The job's queue entries
    /// keep their places; their chunks are renumbered from the first one's. Not for
    /// `imapUnordered`, whose delivery counts chunks of one size from item 0.
    private func rechunk(_ id: Int, chunksize: Int) {
        guard chunksize >= 1, let job = jobs[id], chunksize != job.chunksize else { return }
        if case .unordered = job.delivery { return }
        let positions = queue.indices.filter { queue[$0].job === job && !queue[$0].isRemainder }
        guard let first = positions.first, let last = positions.last else {
            job.chunksize = chunksize
            return
        }
        let chunks = { (work: QueuedWork, size: Int) in (work.end - work.start + size - 1) / size }
        var next = queue[first].chunk
        for position in positions {
            queuedChunks += chunks(queue[position], chunksize) - chunks(queue[position], job.chunksize)
            queue[position].chunk = next
            next += chunks(queue[position], chunksize)
        }
        job.chunksize = chunksize
        job.chunkCount = next
        let start = queue[first].start
        // A later re-cut starts at or after this one: it replaces the ones it covers.
        job.recuts.removeAll { $0.start >= start || $0.firstChunk >= queue[first].chunk }
        job.recuts.append((queue[first].chunk, start, chunksize))
        events.emit(.chunksRecut(job: id, chunksize: chunksize, firstChunk: queue[first].chunk, chunks: next - queue[first].chunk,
                                 start: start, count: queue[last].end - start, queue: queueDepth))
    }

    /// The state so far, as events, for a subscriber that joins late: the workers, and the jobs
    /// still running (their progress before now is not replayed).
    private func snapshot() -> [PoolEvent.Kind] {
        var kinds: [PoolEvent.Kind] = [
            .poolCreated(pool: shared.poolID, pid: getpid(), workers: targetWorkers),
            .poolResized(from: 0, to: targetWorkers),
        ]
        if let chunksize = shared.chunksizeOverride { kinds.append(.settingsChanged(chunksize: chunksize)) }
        for worker in slots.compactMap({ $0 }) where worker.identified {
            kinds.append(.workerStarted(slot: worker.slot, pid: worker.pid, host: worker.host))
            if worker.state != .starting { kinds.append(.workerReady(slot: worker.slot, pid: worker.pid)) }
        }
        // Each running job with its plan and progress so far: a fold of the past, not a replay.
        let queue = queueDepth
        for job in jobs.values.sorted(by: { $0.id < $1.id }) {
            kinds.append(.jobSubmitted(job.descriptor))
            if job.chunkCount > 0 {
                kinds.append(.chunksQueued(job: job.id, firstChunk: 0, chunks: job.chunkCount, start: 0,
                                           count: job.itemCount, queue: queue))
                // Re-cut parts, so that the subscriber's plan has their chunks too.
                for (position, recut) in job.recuts.enumerated() {
                    let next = position + 1 < job.recuts.count ? job.recuts[position + 1] : nil
                    let chunks = (next?.firstChunk ?? job.chunkCount) - recut.firstChunk
                    let count = (next?.start ?? job.itemCount) - recut.start
                    guard chunks > 0, count > 0 else { continue }
                    kinds.append(.chunksRecut(job: job.id, chunksize: recut.chunksize, firstChunk: recut.firstChunk, chunks: chunks,
                                              start: recut.start, count: count, queue: queue))
                }
            }
            if job.finishedCount > 0 || job.deliveredCount > 0 {
                kinds.append(.jobProgress(job: job.id, finished: job.finishedCount, failed: job.failedCount,
                                          delivered: job.deliveredCount, chunksDone: job.chunksDone))
            }
        }
        // What each worker holds now, so that the grid shows it busy at once.
        for worker in slots.compactMap({ $0 }) where worker.identified {
            for run in worker.inflight {
                // From the chunk it has got to: the run's finished chunks are in the job's progress.
                let finished = run.chunksFinished(before: run.next)
                let chunks = run.chunks - finished
                if chunks == 1 {
                    kinds.append(.chunkDispatched(job: run.job.id, chunk: run.chunk + finished, start: run.next,
                                                  count: run.end - run.next, pid: worker.pid, queue: queue))
                } else if chunks > 1 {
                    kinds.append(.chunksDispatched(job: run.job.id, firstChunk: run.chunk + finished, chunks: chunks,
                                                   start: run.next, count: run.end - run.next, pid: worker.pid, queue: queue))
                }
            }
        }
        return kinds
    }

    private var queueDepth: QueueDepth { QueueDepth(chunks: queuedChunks, items: queuedItems) }

    /// Cancels a job (see ``PoolCommand/cancelJob(_:)``): its queued chunks are dropped at once,
    /// it ends with `CancellationError`, and a monitor sees ``PoolEvent/Kind/jobCancelled(job:)``.
    /// Chunks already at a worker run to their end; their results are discarded.
    private func cancelJob(_ id: Int) {
        guard let job = jobs.removeValue(forKey: id) else { return }
        job.isCancelled = true
        if queue.contains(where: { $0.job === job }) {
            var kept = Deque<QueuedWork>()
            for work in queue {
                guard work.job === job else {
                    kept.append(work)
                    continue
                }
                let items = work.end - work.start
                queuedItems -= items
                queuedChunks -= work.isRemainder ? 1 : (items + job.chunksize - 1) / job.chunksize
            }
            queue = kept
        }
        job.abort(CancellationError())
        events.emit(.jobCancelled(job: id))
        if lifecycle == .closing && jobs.isEmpty { closeAllWorkers() }
    }

    private func resize(to count: Int) {
        guard lifecycle != .terminating, count != targetWorkers else { return }
        let old = targetWorkers
        targetWorkers = count
        shared.state.withLock { $0.targetWorkers = count }
        events.emit(.poolResized(from: old, to: count))
        if count > old {
            replenish()
            return
        }
        // Shrink: retire the surplus, idle workers first, then the highest slots.
        let active = slots.compactMap { $0 }.filter(\.isLive)
        let surplus = active.count - count
        guard surplus > 0 else { return }
        let victims = active.sorted { a, b in
            if a.inflight.isEmpty != b.inflight.isEmpty { return a.inflight.isEmpty }
            return a.slot > b.slot
        }.prefix(surplus)
        for worker in victims {
            worker.state = .retiring
            worker.exitIntent = .retired
            if worker.inflight.isEmpty { closeCommand(worker) }
        }
    }

    /// Signals one of our workers through its pidfd: never a stale PID, since a worker stays in
    /// `workers` (and its pidfd open) until it is reaped.
    private func signalWorker(pid: Int32, signal: Int32, reply: CommandReply) {
        // A remote worker's signal goes to its launcher (ssh, srun): see ``WorkerLauncher``.
        guard let worker = workers.values.first(where: { $0.identified && $0.pid == pid }) else {
            reply.report(PoolError(.invalidArgument, "process \(pid) is not a worker of this pool"))
            return
        }
        worker.requestedSignals.insert(signal)
        // ESRCH: it has exited and waits to be reaped; nothing more to do. Another failure of
        // the pidfd falls back to the PID, as `terminate` does: safe here, on the IO thread,
        // which alone reaps workers, so the PID is still this unreaped child's.
        if cshim_pidfd_send_signal(worker.pidfd, signal) != 0 && errno != ESRCH
            && kill(worker.localPID, signal) != 0 && errno != ESRCH {
            reply.report(PoolError(.invalidArgument, "cannot signal worker \(pid): \(errnoDescription())"))
            return
        }
        reply.report(nil)
    }

    private func terminate() {
        guard lifecycle != .terminating else { return }
        lifecycle = .terminating
        shared.state.withLock { $0.lifecycle = .terminated }
        events.emit(.poolStateChanged(.terminated))
        for worker in workers.values {
            worker.exitIntent = .terminated
            if cshim_pidfd_send_signal(worker.pidfd, SIGKILL) != 0 { kill(worker.localPID, SIGKILL) }
            closeCommand(worker)
        }
        queue.removeAll()
        queuedItems = 0
        queuedChunks = 0
        let error = PoolError(.terminated, "the pool was terminated before this result was ready")
        for job in jobs.values.sorted(by: { $0.id < $1.id }) {
            job.abort(error)
            events.emit(.jobCompleted(job: job.id, error: error.message))
        }
        jobs.removeAll()
    }

    // MARK: dispatch

    /// Hands queued chunks to workers with room. A worker of slow items has room for one chunk
    /// (the one it runs), so they go one per worker per round, as from Python's shared queue. A
    /// worker of tiny items takes its fill of consecutive chunks at once (its room is bounded by
    /// ``PoolSettings/prefetchBudgetNanoseconds`` of work, so no worker hoards a job's tail):
    /// consecutive chunks make one ``PoolEvent/Kind/chunksDispatched`` event and, coming back,
    /// one run of results, which is what keeps watching tiny items nearly free.
    private func dispatch() {
        guard !queue.isEmpty, lifecycle != .terminating else { return }
        let stamp = events.isActive ? events.now() : 0
        var progress = true
        while progress && !queue.isEmpty {
            progress = false
            for case let worker? in slots where worker.acceptsWork {
                // Consecutive whole chunks of one job go out as one command (one frame, one
                // copy of their arguments, one entry in flight): with tiny items the per-chunk
                // costs of a command would otherwise be most of an item's.
                var run: OutgoingRun?
                while !queue.isEmpty {
                    // As many of the head's chunks as the worker has room for, taken at once.
                    let wanted = room(of: worker, for: queue[0])
                    guard wanted > 0 else { break }
                    let piece = popChunks(wanted)
                    worker.inflightItems += piece.count
                    worker.inflightChunks += piece.chunks
                    worker.chunksAssigned += piece.chunks
                    announceDispatch(piece.work, count: piece.count, chunks: piece.chunks, to: worker, at: stamp)
                    progress = true
                    if run?.extend(with: piece) == true { continue }
                    if let run { send(run, to: worker) }
                    run = OutgoingRun(piece)
                }
                if let run { send(run, to: worker) }
            }
        }
        announceDispatchRun(at: stamp)
    }

    /// Chunks popped for one worker in one dispatch pass, to be sent as one command: a run of
    /// consecutive whole chunks of one job (never a re-queued remainder, which goes alone).
    private struct OutgoingRun {
        let work: QueuedWork
        var chunks = 1
        var count: Int
        let chunksize: Int

        init(_ piece: (work: QueuedWork, count: Int, chunks: Int)) {
            work = piece.work
            count = piece.count
            chunks = piece.chunks
            chunksize = piece.work.isRemainder ? max(piece.count, 1) : piece.work.job.chunksize
        }

        /// Takes `piece` into the run if it continues it.
        mutating func extend(with piece: (work: QueuedWork, count: Int, chunks: Int)) -> Bool {
            guard !work.isRemainder, !piece.work.isRemainder, piece.work.job === work.job,
                  piece.work.job.chunksize == chunksize, count == chunks * chunksize,
                  piece.work.chunk == work.chunk + chunks, piece.work.start == work.start + count
            else { return false }
            chunks += piece.chunks
            count += piece.count
            return true
        }
    }

    /// Chunks sent to one worker in the current dispatch pass and not announced yet: consecutive
    /// full chunks of one job, announced as one event when the run ends.
    private struct DispatchRun {
        var job: Int
        var firstChunk: Int
        var chunks: Int
        var start: Int
        var count: Int
        var pid: Int32
        /// The queue's depth just after the run's last chunk left it.
        var queue: QueueDepth
    }
    private var dispatchRun: DispatchRun?

    /// Announces chunks sent to a worker, joining them to the run before them where they
    /// continue it.
    private func announceDispatch(_ work: QueuedWork, count: Int, chunks: Int, to worker: WorkerRecord, at stamp: UInt64) {
        guard events.isActive else { return }
        let job = work.job
        if var run = dispatchRun, run.pid == worker.pid, run.job == job.id, !work.isRemainder,
           run.firstChunk + run.chunks == work.chunk, run.start + run.count == work.start,
           run.count == run.chunks * job.chunksize {
            run.chunks += chunks
            run.count += count
            run.queue = queueDepth
            dispatchRun = run
            return
        }
        announceDispatchRun(at: stamp)
        if work.isRemainder {
            // A re-queued remainder is not a whole chunk: never part of a run.
            events.emit(.chunkDispatched(job: job.id, chunk: work.chunk, start: work.start, count: count,
                                         pid: worker.pid, queue: queueDepth), at: stamp)
        } else {
            dispatchRun = DispatchRun(job: job.id, firstChunk: work.chunk, chunks: chunks, start: work.start, count: count,
                                      pid: worker.pid, queue: queueDepth)
        }
    }

    private func announceDispatchRun(at stamp: UInt64) {
        guard let run = dispatchRun else { return }
        dispatchRun = nil
        if run.chunks == 1 {
            events.emit(.chunkDispatched(job: run.job, chunk: run.firstChunk, start: run.start, count: run.count,
                                         pid: run.pid, queue: run.queue), at: stamp)
        } else {
            events.emit(.chunksDispatched(job: run.job, firstChunk: run.firstChunk, chunks: run.chunks, start: run.start,
                                          count: run.count, pid: run.pid, queue: run.queue), at: stamp)
        }
    }

    /// How many of `head`'s chunks the worker may take now: as many as it would be admitted one
    /// after another. A worker with nothing in flight takes one; one of tiny items (measured on
    /// this job) takes more while it holds fewer than ``PoolSettings/prefetchMaxChunks`` chunks
    /// and ``PoolSettings/prefetchMaxItems`` items, and less than
    /// ``PoolSettings/prefetchBudgetNanoseconds`` of work.
    private func room(of worker: WorkerRecord, for head: QueuedWork) -> Int {
        let size = head.isRemainder ? head.end - head.start : head.job.chunksize
        let available = head.isRemainder ? 1 : (head.end - head.start + size - 1) / size
        var chunks = worker.inflightChunks
        var items = worker.inflightItems
        var assigned = worker.chunksAssigned
        let mean = worker.meanItemNanoseconds
        let tiny = mean >= 0 && mean < settings.prefetchBelowNanoseconds && worker.meanJob == head.job.id
        var taken = 0
        while taken < available {
            if let limit = settings.maxTasksPerChild, assigned >= limit { break }
            if chunks > 0 {
                guard tiny, chunks < settings.prefetchMaxChunks, items < settings.prefetchMaxItems,
                      Double(items) * mean < settings.prefetchBudgetNanoseconds else { break }
            }
            taken += 1
            chunks += 1
            items += size
            assigned += 1
        }
        return taken
    }

    /// Takes up to `wanted` consecutive chunks from the head of the queue (a re-queued
    /// remainder: itself alone).
    private func popChunks(_ wanted: Int) -> (work: QueuedWork, count: Int, chunks: Int) {
        let head = queue[0]
        let count: Int
        let chunks: Int
        if head.isRemainder {
            count = head.end - head.start
            chunks = 1
        } else {
            count = min(wanted * head.job.chunksize, head.end - head.start)
            chunks = (count + head.job.chunksize - 1) / head.job.chunksize
        }
        let piece = QueuedWork(job: head.job, chunk: head.chunk, start: head.start, end: head.start + count,
                               isRemainder: head.isRemainder)
        if head.start + count >= head.end {
            queue.removeFirst()
        } else {
            // In place: no copy of the queued run in and out of the deque.
            queue[0].start += count
            queue[0].chunk += chunks
        }
        queuedItems -= count
        queuedChunks -= chunks
        return (piece, count, chunks)
    }

    /// Sends a run of chunks as one command; the worker's counters already include it.
    private func send(_ run: OutgoingRun, to worker: WorkerRecord) {
        let work = run.work
        let job = work.job
        worker.outbox.appendChunk(job: job.id, start: work.start, count: run.count, careful: work.isRemainder,
                                  task: job.descriptor.function,
                                  arguments: job.argumentBytes(start: work.start, count: run.count))
        // An idle worker's silence so far was not a task running: its clock starts now.
        if worker.inflight.isEmpty && settings.taskTimeout != nil { worker.lastHeard = MonotonicClock.nanoseconds() }
        worker.inflight.append(.init(job: job, chunk: work.chunk, chunks: run.chunks, chunksize: run.chunksize,
                                     start: work.start, count: run.count, next: work.start, careful: work.isRemainder))
    }

    // MARK: writing

    private func flushAllOutboxes() {
        for worker in workers.values where worker.outbox.hasPendingBytes && !worker.watchingWritable {
            flushOutbox(worker)
        }
    }

    private func flushOutbox(_ worker: WorkerRecord) {
        guard worker.commandFD >= 0 else { return }
        switch worker.outbox.write(to: worker.commandFD) {
        case .done:
            break
        case .wouldBlock:
            if !worker.watchingWritable {
                worker.watchingWritable = true
                watch(worker.commandFD, token: token(worker, .command), events: PoolCore.epollOut)
            }
            return
        case .failed:
            // EPIPE: the worker is gone; its pidfd will report the exit and its chunks go back.
            closeCommand(worker)
            return
        }
        if worker.watchingWritable {
            _ = cshim_epoll_del(epollFD, worker.commandFD)
            worker.watchingWritable = false
        }
    }

    /// Closes the worker's command pipe: it finishes what it holds and exits on end of file.
    private func closeCommand(_ worker: WorkerRecord) {
        guard worker.commandFD >= 0 else { return }
        close(worker.commandFD)  // closing also removes it from the epoll set
        worker.commandFD = -1
        worker.watchingWritable = false
        worker.outbox.removeAll()
        if worker.state != .retiring { worker.state = .draining }
    }

    private func closeAllWorkers() {
        for worker in workers.values where worker.commandFD >= 0 {
            worker.exitIntent = worker.exitIntent ?? .poolClosed
            closeCommand(worker)
        }
    }

    // MARK: reading

    private func readResults(_ worker: WorkerRecord, untilEnd: Bool = false) {
        while worker.resultFD >= 0 {
            let got = worker.inbox.read(from: worker.resultFD)
            if got > 0 {
                if settings.taskTimeout != nil { worker.lastHeard = MonotonicClock.nanoseconds() }
                parseFrames(worker)
                if !untilEnd { return }
            } else if got == 0 {
                close(worker.resultFD)
                worker.resultFD = -1
            } else if errno == EINTR {
                continue
            } else {
                return  // EAGAIN: nothing more for now
            }
        }
    }

    private func parseFrames(_ worker: WorkerRecord) {
        while true {
            let frame: (kind: UInt8, body: Range<Int>, end: Int)?
            do {
                frame = try worker.inbox.withUnsafeBytes { raw throws(WireFormatError) in
                    try Frame.next(in: raw, at: worker.inbox.head)
                }
            } catch {
                protocolViolation(worker, "\(error)")
                return
            }
            guard let frame else { return }
            do {
                try worker.inbox.withUnsafeBytes { raw in
                    var reader = WireReader(UnsafeRawBufferPointer(rebasing: raw[frame.body]))
                    try handleFrame(kind: frame.kind, &reader, from: worker)
                }
            } catch {
                protocolViolation(worker, "malformed frame of kind \(frame.kind): \(error)")
                return
            }
            worker.inbox.consume(upTo: frame.end)
        }
    }

    private func handleFrame(kind: UInt8, _ reader: inout WireReader, from worker: WorkerRecord) throws {
        switch FrameKind(rawValue: kind) {
        case .identity:
            let pid = try reader.read(UInt32.self)
            let host = try reader.read(String.self)
            // From the far side of a launcher: untrusted like any frame. One per worker, a real
            // PID, a host name a screen and a log line can hold.
            guard !worker.identified, spawner.launch != nil else { throw WireFormatError.invalidValue("identity frame from a worker that has one") }
            guard pid >= 1, pid <= UInt32(Int32.max) else { throw WireFormatError.invalidValue("identity PID \(pid)") }
            guard PoolEvent.isValidHost(host) else { throw WireFormatError.invalidValue("identity host name") }
            worker.pid = Int32(pid)
            worker.host = host
            worker.identified = true
            if let launched = worker.launchHost { launchFailures[launched] = nil }
            workersChanged = true
            events.emit(.workerStarted(slot: worker.slot, pid: worker.pid, host: host))
        case .ready:
            if worker.state == .starting { worker.state = .ready }
            worker.saidReady = true
            startFailuresInARow = 0
            events.emit(.workerReady(slot: worker.slot, pid: worker.pid))
        case .initializerFailed:
            let message = try reader.read(String.self)
            worker.exitIntent = .initializerFailed
            breakPool(PoolError(.initializerFailed, "the worker initializer failed in worker \(worker.pid): \(message)"))
        case .itemStarted:
            let job = Int(try reader.read(UInt32.self))
            let index = Int(try reader.read(UInt32.self))
            worker.lastStarted = (job, index)
            events.emit(.itemStarted(job: job, index: index, pid: worker.pid))
        case .itemResults:
            let job = Int(try reader.read(UInt32.self))
            let start = Int(try reader.read(UInt32.self))
            let count = Int(try reader.read(UInt32.self))
            try handleResults(worker, job: job, start: start, count: count, payload: &reader)
        case .itemResultsUniform:
            let job = Int(try reader.read(UInt32.self))
            let start = Int(try reader.read(UInt32.self))
            let count = Int(try reader.read(UInt32.self))
            let length = Int(try reader.read(UInt32.self))
            let total = try reader.read(UInt64.self)
            // Untrusted: exactly `count` results of `length` bytes must follow.
            let (bytes, overflow) = count.multipliedReportingOverflow(by: length)
            guard !overflow, bytes == reader.remaining else {
                throw WireFormatError.invalidValue("a run of \(count) results of \(length) bytes in \(reader.remaining) bytes")
            }
            try handleResults(worker, job: job, start: start, count: count, uniform: (length, total), payload: &reader)
        default:
            throw WireFormatError.invalidValue("unknown frame kind \(kind)")
        }
    }

    /// Records a run of results of the worker's oldest chunk in flight: an `itemResults` frame
    /// (`uniform` nil), or an `itemResultsUniform` one (`count` successes of `length` bytes each,
    /// `total` nanoseconds in all), which is recorded in bulk.
    private func handleResults(_ worker: WorkerRecord, job jobID: Int, start: Int, count: Int,
                               uniform: (length: Int, total: UInt64)? = nil,
                               payload reader: inout WireReader) throws {
        guard var head = worker.inflight.first, head.job.id == jobID, head.next == start,
              count >= 1, count <= head.end - head.next
        else {
            let expected = worker.inflight.first.map { "job \($0.job.id) item \($0.next)" } ?? "nothing"
            throw WireFormatError.invalidValue("results for job \(jobID) items \(start)+\(count), expected \(expected)")
        }
        let job = head.job
        let watched = events.isActive
        let stamp = watched ? events.now() : 0
        var mean = worker.meanJob == jobID ? worker.meanItemNanoseconds : -1
        // Whatever happens below, the worker's books show exactly the items recorded, so that
        // a protocol violation mid-frame re-runs the rest and nothing twice.
        defer {
            let done = head.next - start
            let chunksDone = head.chunksFinished(before: head.next) - head.chunksFinished(before: start)
            if head.next == head.end {
                worker.inflight.removeFirst()
            } else {
                worker.inflight[0] = head
            }
            if chunksDone > 0 { job.chunksFinished(chunksDone) }
            worker.inflightChunks -= chunksDone
            worker.inflightItems -= done
            worker.itemsDone += done
            worker.meanItemNanoseconds = mean
            worker.meanJob = jobID
            job.commitDeliveries()
            if job.feed != nil { job.compactIfWorthIt() }
            if worker.inflight.isEmpty { workerIdle(worker) }
        }
        // Short successful items are reported as runs (one `itemsFinished` per run), slow or
        // failed ones one by one: watching a pool of tiny tasks then costs an event per frame,
        // not per item. The run is emitted before anything that breaks it, so events stay in order.
        var runStart = start
        var runCount = 0
        var runNanoseconds: UInt64 = 0
        func emitRun() {
            guard runCount > 0 else { return }
            if runCount == 1 {
                events.emit(.itemFinished(job: jobID, index: runStart, pid: worker.pid, error: nil,
                                          nanoseconds: runNanoseconds), at: stamp)
            } else {
                events.emit(.itemsFinished(job: jobID, start: runStart, count: runCount, pid: worker.pid,
                                           nanoseconds: runNanoseconds), at: stamp)
            }
            runCount = 0
            runNanoseconds = 0
        }
        var delivered = (start: 0, count: 0)
        func emitDelivered() {
            guard delivered.count > 0 else { return }
            events.emit(.resultsDelivered(job: jobID, start: delivered.start, count: delivered.count), at: stamp)
            delivered.count = 0
        }
        defer { if watched { emitRun(); emitDelivered() } }
        // Deliveries during one frame are contiguous (imap: the ordered prefix grows;
        // imapUnordered: at most this chunk): one event after the finishes that caused it.
        func noteDelivery(after index: Int) {
            guard let range = job.deliver(after: index) else { return }
            if delivered.count > 0 && delivered.start + delivered.count == range.start {
                delivered.count += range.count
            } else {
                if watched { emitDelivered() }
                delivered = range
            }
        }
        func completeIfDone() {
            guard job.isComplete else { return }
            if watched { emitRun(); emitDelivered() }
            completeJob(job)
        }
        if let uniform, job.recordSuccesses(start: start, count: count, length: uniform.length,
                                            try reader.readRaw(count: count * uniform.length)) {
            head.next += count
            mean = WorkerRecord.movingMean(mean, adding: uniform.total / UInt64(count), times: count)
            if watched {
                runStart = start
                runCount = count
                runNanoseconds = uniform.total
            }
            if job.handsOverInOrder {
                noteDelivery(after: start + count - 1)  // the ordered prefix, once for the run
            } else if !job.handsOverWhole {
                for index in start..<(start + count) { noteDelivery(after: index) }
            }
            completeIfDone()
            return
        } else if let uniform {
            // Some of them had finished already (a re-run after a crash): one by one below.
            reader = WireReader(UnsafeRawBufferPointer(rebasing: reader.base[(reader.base.count - count * uniform.length)...]))
        }
        for index in start..<(start + count) {
            let status: ItemStatus
            let duration: UInt64
            if let uniform {
                status = .ok
                duration = uniform.total / UInt64(count)
            } else {
                guard let read = ItemStatus(rawValue: try reader.read(UInt8.self)) else {
                    throw WireFormatError.invalidValue("item status")
                }
                status = read
                duration = try reader.read(UInt64.self)
            }
            var failure: (any Error)?
            if status == .ok {
                let length = try uniform?.length ?? Int(reader.read(UInt32.self))
                _ = job.recordSuccess(index, try reader.readRaw(count: length))
            } else {
                let typeName = try reader.read(String.self)
                let description = try reader.read(String.self)
                let error = taskError(status, job: job, index: index, typeName: typeName, description: description,
                                      pid: worker.pid)
                _ = job.recordFailure(index, error)
                failure = error
            }
            head.next += 1
            // The average decides how far ahead this worker gets (kept in a local: stored once).
            mean = WorkerRecord.movingMean(mean, adding: duration)
            if watched {
                if failure == nil && duration < PoolEvent.perItemThreshold {
                    if runCount == 0 { runStart = index }
                    runCount += 1
                    runNanoseconds &+= duration
                } else {
                    emitRun()
                    events.emit(.itemFinished(job: jobID, index: index, pid: worker.pid,
                                              error: failure.map { "\($0)" }, nanoseconds: duration), at: stamp)
                }
            }
            noteDelivery(after: index)
            completeIfDone()
        }
    }

    private func taskError(_ status: ItemStatus, job: JobRecord, index: Int, typeName: String, description: String,
                           pid: Int32) -> any Error {
        let task = job.descriptor.function
        switch status {
        case .unknownTask:
            return PoolError(.unknownTask, "task '\(task)' is not registered in worker \(pid)")
        case .argumentUndecodable:
            return PoolError(.encoding, "\(task) \(PoolError.itemName(index)): the worker could not decode the argument: \(description)")
        case .resultUnencodable:
            return PoolError(.encoding, "\(task) \(PoolError.itemName(index)): the result cannot be encoded: \(description)")
        case .ok, .taskFailed:
            return TaskError(typeName: typeName, remoteDescription: description, task: task, index: index, workerPID: pid)
        }
    }

    /// Hands over what became available (committed by the caller, once per batch) and completes
    /// the job when it is done.
    private func itemFinished(_ job: JobRecord, index: Int) {
        if let range = job.deliver(after: index) {
            events.emit(.resultsDelivered(job: job.id, start: range.start, count: range.count))
        }
        if job.isComplete { completeJob(job) }
    }

    private func completeJob(_ job: JobRecord) {
        guard jobs.removeValue(forKey: job.id) != nil else { return }
        if let range = job.complete() {
            events.emit(.resultsDelivered(job: job.id, start: range.start, count: range.count))
        }
        events.emit(.jobCompleted(job: job.id, error: (job.firstError ?? job.inputError).map { "\($0)" }))
        if lifecycle == .closing && jobs.isEmpty { closeAllWorkers() }
    }

    /// The worker has nothing left in flight: stop it if it was asked to stop.
    private func workerIdle(_ worker: WorkerRecord) {
        if worker.state == .retiring {
            closeCommand(worker)
        } else if let limit = settings.maxTasksPerChild, worker.chunksAssigned >= limit {
            worker.exitIntent = .maxTasksReached
            closeCommand(worker)
        }
    }

    private func readOutput(_ worker: WorkerRecord) {
        guard worker.outputFD >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let got = buffer.withUnsafeMutableBytes { read(worker.outputFD, $0.baseAddress!, $0.count) }
            if got > 0 {
                emitLines(worker, buffer[0..<got])
                if got < buffer.count { return }
            } else if got < 0 && errno == EINTR {
                continue
            } else {
                if got == 0 {
                    close(worker.outputFD)
                    worker.outputFD = -1
                    if !worker.outputLine.isEmpty { emitLines(worker, [UInt8(ascii: "\n")][...]) }
                }
                return
            }
        }
    }

    /// Splits a worker's output into lines: kept for its death report, and emitted as events
    /// (captured output) or forwarded to this process's standard error (see
    /// ``StandardErrorForwarder``).
    private func emitLines(_ worker: WorkerRecord, _ bytes: ArraySlice<UInt8>) {
        let capture = spawner.captureOutput
        var forward: [UInt8] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                let line = String(decoding: worker.outputLine, as: UTF8.self)
                worker.rememberOutput(line)
                if capture {
                    events.emit(.workerOutput(pid: worker.pid, line: line))
                } else {
                    forward.append(contentsOf: worker.outputLine)
                    forward.append(byte)
                }
                worker.outputLine.removeAll(keepingCapacity: true)
            } else if worker.outputLine.count < 4096 {
                worker.outputLine.append(byte)
            } else if !capture {
                // A forwarded line loses nothing: past 4 KB its start goes out as it is.
                forward.append(contentsOf: worker.outputLine)
                worker.outputLine.removeAll(keepingCapacity: true)
                worker.outputLine.append(byte)
            }
        }
        stderrForwarder.forward(forward)
    }

    // MARK: workers coming and going

    private func token(_ worker: WorkerRecord, _ kind: TokenKind) -> UInt64 { worker.id << 2 | kind.rawValue }

    private func watch(_ fd: Int32, token: UInt64, events mask: UInt32 = PoolCore.epollIn) {
        if cshim_epoll_add(epollFD, fd, mask, token) != 0 {
            fatalError("epoll_ctl ADD failed for fd \(fd): \(errnoDescription())")
        }
    }

    private func spawnWorker(slot: Int) throws {
        let spawned: WorkerSpawner.Spawned
        if let launch = spawner.launch {
            spawned = try spawner.spawnThroughLauncher(launch, host: launch.host(forSlot: slot, failures: launchFailures))
        } else {
            spawned = try spawner.spawn()
        }
        // A remote worker is announced when its identity frame names its PID and host.
        let worker = WorkerRecord(id: nextWorkerID, slot: slot, pid: spawned.pid, pidfd: spawned.pidfd,
                                  commandFD: spawned.commandFD, resultFD: spawned.resultFD, outputFD: spawned.outputFD,
                                  host: spawned.host, identified: spawner.launch == nil)
        nextWorkerID += 1
        watch(worker.resultFD, token: token(worker, .result))
        watch(worker.pidfd, token: token(worker, .exit))
        if worker.outputFD >= 0 { watch(worker.outputFD, token: token(worker, .output)) }
        while slots.count <= slot { slots.append(nil) }
        slots[slot] = worker
        workers[worker.id] = worker
        workersChanged = true

        worker.outbox.appendHello(initializer: settings.initializer)
        if worker.identified { events.emit(.workerStarted(slot: slot, pid: worker.pid)) }
    }

    /// Starts workers until the live count reaches the target (unless the pool is winding down).
    private func replenish() {
        guard lifecycle != .terminating, brokenError == nil else { return }
        if lifecycle == .closing && jobs.isEmpty { return }
        // A remote worker still connecting counts: it would otherwise be launched again and again.
        var live = workers.values.filter(\.isLive).count
        var slot = 0
        while live < targetWorkers {
            while slot < slots.count && slots[slot] != nil { slot += 1 }
            do {
                try spawnWorker(slot: slot)
                live += 1
            } catch {
                cannotStart(error as? PoolError ?? PoolError(.spawnFailed, "\(error)"), live: live)
                return
            }
        }
    }

    /// A worker could not be started (descriptors, processes or memory ran out). The pool stays
    /// at the size it has and says why; only a pool left with no worker at all, which cannot
    /// start one, is broken.
    private func cannotStart(_ error: PoolError, live: Int) {
        if workers.isEmpty {
            breakPool(PoolError(.spawnFailed, "the pool has no worker left and \(error.message)"))
            return
        }
        guard live > 0 else {
            // Only workers on their way out: try again when they have exited.
            events.emit(.workerFault(pid: 0, message: error.message))
            return
        }
        let old = targetWorkers
        events.emit(.workerFault(pid: 0, message: "\(error.message); the pool stays at \(live) worker\(live == 1 ? "" : "s")"))
        targetWorkers = live
        shared.state.withLock { $0.targetWorkers = live }
        events.emit(.poolResized(from: old, to: live))
    }

    /// Stops workers that have been running one item past the task timeout: SIGTERM first, then
    /// SIGKILL once the grace has passed. The exit handler fails the item and re-runs the rest.
    private func enforceTimeouts() {
        guard let timeout = settings.taskTimeout else { return }
        let now = MonotonicClock.nanoseconds()
        for worker in workers.values where !worker.inflight.isEmpty {
            if let deadline = worker.killDeadline {
                if now >= deadline {
                    if cshim_pidfd_send_signal(worker.pidfd, SIGKILL) != 0 { kill(worker.localPID, SIGKILL) }
                    worker.killDeadline = .max  // sent; wait for the pidfd
                }
            } else if worker.state != .starting, now &- worker.lastHeard >= timeout {
                worker.exitIntent = .timedOut
                worker.killDeadline = now + settings.terminationGrace
                // Pinned only in a careful chunk, as for crashes (see `recover`); otherwise the
                // careful re-run pins the culprit when it hangs again.
                if let first = worker.inflight.first, first.careful, let started = worker.lastStarted,
                   started.job == first.job.id, started.index == first.next {
                    worker.timedOutItem = (first.job.id, first.next)
                }
                if cshim_pidfd_send_signal(worker.pidfd, SIGTERM) != 0 { kill(worker.localPID, SIGTERM) }
                events.emit(.workerFault(pid: worker.pid, message: "an item ran past the \(Double(timeout) / 1e9)s task timeout; worker stopped"))
            }
        }
    }

    /// Kills workers that have not said ready within ``PoolSettings/startupTimeout``; their
    /// exits count as failures to start (see `handleExit`).
    private func enforceStartupTimeout() {
        guard let limit = settings.startupTimeout else { return }
        let now = MonotonicClock.nanoseconds()
        for worker in workers.values where !worker.saidReady && worker.exitIntent == nil && now &- worker.spawnedAt >= limit {
            events.emit(.workerFault(pid: worker.pid, message: "worker did not say ready within \(Double(limit) / 1e9)s "
                + "(does the program call WorkerProcess.runIfRequested first thing in main?); killed"))
            worker.exitIntent = .crashed
            if cshim_pidfd_send_signal(worker.pidfd, SIGKILL) != 0 { kill(worker.pid, SIGKILL) }
        }
    }

    /// Milliseconds until the next timeout or SIGKILL is due (-1: none), for `epoll_wait`.
    private func nextDeadlineTimeout() -> Int32 {
        var next = UInt64.max
        if let limit = settings.startupTimeout {
            for worker in workers.values where !worker.saidReady && worker.exitIntent == nil {
                next = min(next, worker.spawnedAt &+ limit)
            }
        }
        guard let timeout = settings.taskTimeout else { return milliseconds(until: next) }
        for worker in workers.values where !worker.inflight.isEmpty {
            if let deadline = worker.killDeadline {
                if deadline != .max { next = min(next, deadline) }
            } else if worker.state != .starting {
                next = min(next, worker.lastHeard &+ timeout)
            }
        }
        return milliseconds(until: next)
    }

    private func milliseconds(until next: UInt64) -> Int32 {
        guard next != .max else { return -1 }
        let now = MonotonicClock.nanoseconds()
        guard next > now else { return 0 }
        return Int32(min((next - now + 999_999) / 1_000_000, 60_000))
    }

    private func handleExit(_ worker: WorkerRecord) {
        readResults(worker, untilEnd: true)
        if worker.outputFD >= 0 { readOutput(worker) }
        // Its last words may lack a newline: still a line of its report.
        if !worker.outputLine.isEmpty { emitLines(worker, [UInt8(ascii: "\n")][...]) }
        // Unpublish the PID before reaping: once reaped it may be reused (pid_max can be as low
        // as 32768), and `workerPIDs` must never name another process.
        shared.state.withLock { $0.workerPIDs.removeAll { $0 == worker.pid } }
        var usage = rusage()
        let termination = reapBlocking(worker, usage: &usage)
        for fd in [worker.pidfd, worker.resultFD, worker.outputFD] where fd >= 0 { close(fd) }
        // The death report's item: where the worker's oldest chunk had got to (before `recover` empties it).
        let runningItem = worker.inflight.first.map { (job: $0.job.id, index: $0.next) }
        var requeued: [QueuedWork] = []
        closeCommand(worker)
        workers.removeValue(forKey: worker.id)
        if worker.slot < slots.count, slots[worker.slot] === worker { slots[worker.slot] = nil }
        workersChanged = true

        var reason = worker.exitIntent ?? .crashed
        // Closing its pipe asks a worker for a clean exit; dying of a signal instead means
        // something else killed it first.
        if case .signaled = termination, [.poolClosed, .retired, .maxTasksReached].contains(reason) {
            reason = .crashed
        }
        if !worker.inflight.isEmpty && lifecycle != .terminating {
            if reason != .protocolViolation && reason != .initializerFailed && reason != .timedOut { reason = .crashed }
            // A death the caller asked for (`signalWorker`) is no evidence against the item.
            var requested = false
            if case .signaled(let signal) = termination { requested = worker.requestedSignals.contains(signal) }
            requeued = recover(worker, termination: termination, timedOut: reason == .timedOut, charge: !requested)
        }
        // Not `state == .starting`: a worker that died before saying ready while a chunk was on
        // its way is `.draining` (the write failed), and must count too, or a program whose
        // workers never start (no `runIfRequested`) is respawned for ever.
        // A kill from outside (SIGKILL, SIGTERM: the OOM killer, a user, a chaos test) or a
        // signal the caller sent is not the program failing to start its workers; exits and
        // crash signals (a `fatalError` in a `main` that forgot `runIfRequested`) are.
        // (The startup timeout's own SIGKILL sets `exitIntent`: that one counts.)
        var killedFromOutside = false
        if case .signaled(let signal) = termination {
            killedFromOutside = worker.requestedSignals.contains(signal)
                || (worker.exitIntent == nil && (signal == SIGKILL || signal == SIGTERM))
        }
        if reason == .crashed && !worker.saidReady && !killedFromOutside {
            startFailuresInARow += 1
            if startFailuresInARow > settings.maxStartFailures {
                breakPool(PoolError(.spawnFailed, "workers keep exiting before they start (last: \(worker.pid), \(termination))"))
            }
        }
        // A launched worker's usage and signal are its launcher's (ssh, srun), not the worker's:
        // its report says nothing of its peak RSS or an OOM kill rather than something wrong.
        let local = spawner.launch == nil
        let details = WorkerExitDetails(
            lifetime: MonotonicClock.nanoseconds() &- worker.spawnedAt,
            peakRSSKilobytes: local && usage.ru_maxrss > 0 ? Int(usage.ru_maxrss) : nil,
            oomKilled: local && termination == .signaled(signal: SIGKILL) && oomKills.sawNewKill(),
            job: runningItem?.job, index: runningItem?.index, lastOutput: Array(worker.lastOutput),
            requeued: requeued.map { .init(job: $0.job.id, chunk: $0.chunk, start: $0.start, count: $0.end - $0.start) })
        if worker.identified {
            if let launch = spawner.launch, reason == .crashed || reason == .protocolViolation {
                events.emit(.workerFault(pid: worker.pid, message: Self.launcherExitMessage(launch.launcher, worker, termination)))
            }
            events.emit(.workerExited(slot: worker.slot, pid: worker.pid, termination: termination, reason: reason, details: details))
        } else if lifecycle != .terminating && worker.exitIntent == nil {
            // Never announced: the launcher ended before the worker said who it is (ssh could not
            // connect or log in, srun found no resources, the executable is missing there).
            let launcher = spawner.launch?.launcher.name ?? "launcher"
            let place = worker.launchHost.map { " on \($0)" } ?? ""
            if let host = worker.launchHost { launchFailures[host, default: 0] += 1 }
            events.emit(.workerFault(pid: 0, message: "could not start a worker\(place) through \(launcher): it ended (\(termination)) before the worker said hello; its standard error says why"))
        }
        replenish()
    }

    /// What a launcher's exit says about a remote worker's end, and what it cannot say.
    private static func launcherExitMessage(_ launcher: WorkerLauncher, _ worker: WorkerRecord, _ termination: WorkerTermination) -> String {
        let name = "\(worker.host ?? "?"):\(worker.pid)"
        switch (launcher, termination) {
        case (.ssh, .exited(code: 255)):
            return "worker \(name): ssh exited with 255: the connection dropped or the worker died of a signal (ssh cannot say which)"
        case (_, .exited(let code)):
            return "worker \(name): \(launcher.name) exited with status \(code) (the remote worker's status, as the launcher reports it)"
        case (_, .signaled(let signal)):
            return "worker \(name): its \(launcher.name) process here died of signal \(signal); the remote worker stops when its connection closes"
        }
    }

    /// Reaps an exited worker (its pidfd said so, or it was just killed); `usage` gets its
    /// resource use (`wait4`), the only place its peak RSS survives once it is a zombie. A
    /// launched worker's is its launcher's (ssh, srun), the local process.
    @discardableResult
    private func reapBlocking(_ worker: WorkerRecord, usage: inout rusage) -> WorkerTermination {
        var status: Int32 = 0
        while wait4(worker.localPID, &status, 0, &usage) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        return signal == 0 ? .exited(code: (status >> 8) & 0xff) : .signaled(signal: signal)
    }

    /// Puts a dead worker's unfinished items back at the front of the queue. The item it was
    /// known to be running is charged with the death; past the retry limit it fails alone.
    /// - Parameter charge: whether the death counts against the running item (not when the caller
    ///   killed the worker on purpose).
    /// - Returns: what went back to the queue (for the death report).
    @discardableResult
    private func recover(_ worker: WorkerRecord, termination: WorkerTermination, timedOut: Bool = false,
                         charge: Bool = true) -> [QueuedWork] {
        var requeued: [QueuedWork] = []
        var failed: [(JobRecord, Int)] = []
        for (position, chunk) in worker.inflight.enumerated() {
            var start = chunk.next
            let item = "\(chunk.job.descriptor.label) \(PoolError.itemName(start)) (task \(chunk.job.descriptor.function))"
            /// Fails the first unfinished item of this chunk with `error` and moves past it.
            func failRunningItem(_ code: PoolError.Code, _ message: String) {
                let error = PoolError(code, message, workerPID: worker.pid, termination: termination,
                                      workerOutput: Array(worker.lastOutput))
                _ = chunk.job.recordFailure(start, error)
                events.emit(.itemFinished(job: chunk.job.id, index: start, pid: worker.pid, error: error.message, nanoseconds: 0))
                failed.append((chunk.job, start))
                start += 1
            }
            if position == 0 && timedOut {
                // The item that ran too long, when pinned (see `enforceTimeouts`), fails at once:
                // it would only hang again. The rest run elsewhere, carefully.
                if let stuck = worker.timedOutItem, stuck.job == chunk.job.id, stuck.index == start {
                    let seconds = Double(settings.taskTimeout ?? 0) / 1e9
                    failRunningItem(.timeout, "\(item) ran longer than \(seconds)s in worker \(worker.pid), which was stopped (\(termination))")
                }
            } else if position == 0, charge, chunk.careful, let started = worker.lastStarted, started.job == chunk.job.id, started.index == start {
                // The running item is known only in a careful chunk (a re-run after a death):
                // there the worker reports and flushes every start, each flush carrying every
                // earlier result. Elsewhere a reported item may have finished with its result
                // still in the worker's buffer while a later, unreported one ran: nothing is
                // charged, and the careful re-run pins the culprit if it strikes again.
                let attempts = (chunk.job.crashCounts[start] ?? 0) + 1
                chunk.job.crashCounts[start] = attempts
                if attempts > settings.maxCrashRetries {
                    let killed = attempts + (chunk.job.unchargedCrashes[start] ?? 0)
                    failRunningItem(.workerCrashed, "\(item) killed \(killed) workers; the last was worker \(worker.pid) (\(termination))")
                } else {
                    events.emit(.itemRetried(job: chunk.job.id, index: start, attempt: attempts, deadPID: worker.pid))
                }
            } else if position == 0, charge {
                chunk.job.unchargedCrashes[start, default: 0] += 1
            }
            if start < chunk.end && !chunk.job.isCancelled {
                // Each chunk of a run goes back on its own, as the careful re-run of a chunk.
                for piece in chunk.pieces(from: start) {
                    requeued.append(QueuedWork(job: chunk.job, chunk: piece.chunk, start: piece.start, end: piece.end,
                                               isRemainder: true))
                }
            }
        }
        worker.inflight.removeAll()
        worker.inflightItems = 0
        worker.inflightChunks = 0
        for work in requeued.reversed() {
            queue.prepend(work)
            queuedItems += work.end - work.start
            queuedChunks += 1
        }
        for work in requeued {
            events.emit(.chunkRequeued(job: work.job.id, chunk: work.chunk, start: work.start,
                                       count: work.end - work.start, queue: queueDepth))
        }
        for (job, index) in failed {
            itemFinished(job, index: index)
            job.commitDeliveries()
        }
        return requeued
    }

    /// The pool cannot run tasks any more: fail every job, and every later one, with `error`.
    private func breakPool(_ error: PoolError) {
        guard brokenError == nil else { return }
        brokenError = error
        events.emit(.workerFault(pid: 0, message: error.message))
        queue.removeAll()
        queuedItems = 0
        queuedChunks = 0
        for job in jobs.values.sorted(by: { $0.id < $1.id }) {
            job.abort(error)
            events.emit(.jobCompleted(job: job.id, error: error.message))
        }
        jobs.removeAll()
    }

    private func protocolViolation(_ worker: WorkerRecord, _ message: String) {
        events.emit(.workerFault(pid: worker.pid, message: "protocol violation: \(message); worker killed"))
        worker.exitIntent = .protocolViolation
        if cshim_pidfd_send_signal(worker.pidfd, SIGKILL) != 0 { kill(worker.localPID, SIGKILL) }
        // Stop reading: what follows a bad frame cannot be trusted. The exit handler requeues.
        if worker.resultFD >= 0 {
            close(worker.resultFD)
            worker.resultFD = -1
        }
        worker.inbox.consume(upTo: worker.inbox.tail)
    }

    private func publishWorkers() {
        workersChanged = false
        let pids = slots.compactMap { $0.flatMap { $0.identified ? $0.pid : nil } }
        shared.state.withLock { $0.workerPIDs = pids }
    }
}
