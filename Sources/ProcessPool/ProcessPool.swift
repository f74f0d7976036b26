import CSystemShims
import Foundation
import Glibc
import Synchronization

/// A pool of worker processes with the semantics of Python's `multiprocessing.Pool`.
///
/// Workers are real processes started from this program's own executable (see
/// ``WorkerProcess/runIfRequested(_:)``). Tasks are registered by name in a ``TaskRegistry``;
/// arguments and results travel over pipes.
///
/// ```swift
/// let pool = try ProcessPool(workers: 2)
/// let sums = try pool.mapAsync(add, pairs).get()   // like pool.map_async(add, pairs).get()
/// pool.close()
/// try pool.join()
/// ```
public final class ProcessPool: Sendable {
    /// Everything a pool can be set up with.
    public struct Configuration: Sendable {
        /// Worker processes; `nil` means the number of CPUs this process may use.
        public var workers: Int?
        /// Chunks a worker runs before it is replaced by a fresh process; `nil` for no limit.
        public var maxTasksPerChild: Int?
        /// Runs once in every worker before its first task.
        public var initializer: WorkerInitializer?
        /// How many times an item whose worker died is re-run before it fails (with
        /// ``PoolError/Code/workerCrashed``, naming the PID and the signal). The first death
        /// only re-runs the worker's unfinished items with every start reported, to learn which
        /// item was running; deaths after that are charged to that item.
        public var maxCrashRetries = 2
        /// An item that runs longer than this is stopped: its worker gets SIGTERM, then SIGKILL
        /// after ``terminationGrace``, and is replaced; the item fails with
        /// ``PoolError/Code/timeout`` (it is not re-run: it would hang again) and the worker's
        /// other items run elsewhere. The first timeout only re-runs the worker's items with every
        /// start reported, so that the culprit is known for sure; it fails when it hangs again. `nil` (the default) lets items run as long as they like.
        public var taskTimeout: Duration?
        /// How long a timed-out worker has between SIGTERM and SIGKILL.
        public var terminationGrace: Duration = .seconds(1)
        /// The worker executable; `nil` for this program (`/proc/self/exe`).
        public var executable: String?
        /// Arguments for the worker executable (after `argv[0]`).
        public var arguments: [String] = []
        /// The workers' environment; `nil` to inherit this process's.
        public var environment: [String: String]?
        /// Capture the workers' standard output and error as ``PoolEvent/Kind/workerOutput(pid:line:)``
        /// events instead of letting them write to this process's.
        public var captureOutput = false
        /// When set, submitting a task not registered here throws ``PoolError/Code/unknownTask``
        /// at once (otherwise each item fails with that error in the worker).
        public var registry: TaskRegistry?
        /// Let monitors that come later watch and control this pool (`poolmon attach`): the pool
        /// listens on a socket in a private directory (see ``MonitorChannel``). `nil` (the
        /// default) follows the environment: attachable when `POOLMON_ATTACHABLE=1`.
        public var attachable: Bool?
        /// A monitor's socket to connect to and stream events to; `nil` (the default) takes it
        /// from `POOLMON_SOCKET`, which `poolmon watch -- CMD` sets for the program it runs. A
        /// socket that does not answer is ignored: the pool runs unwatched.
        public var monitorSocket: String?

        public init(workers: Int? = nil, maxTasksPerChild: Int? = nil, initializer: WorkerInitializer? = nil) {
            self.workers = workers
            self.maxTasksPerChild = maxTasksPerChild
            self.initializer = initializer
        }
    }

    public let configuration: Configuration
    let shared: PoolShared
    /// The monitor channel's ends this pool has: a monitor it connected to, a socket it listens on.
    private let monitorLinks: [MonitorLink]
    /// The latest big input being encoded in the background (see `submitMapInBackground`): the
    /// next one waits for it, so that jobs queue their chunks in submission order.
    private let backgroundEncoding = Mutex<Task<Void, Never>?>(nil)

    /// Inputs of at least this many items are encoded off the caller's thread (``mapAsync(_:_:chunksize:label:callback:errorCallback:)``
    /// with a `Sendable` random-access collection).
    public static let backgroundEncodingThreshold = 100_000

    /// Starts a pool; the workers are running when it returns.
    /// - Throws: ``PoolError/Code/invalidArgument`` for `workers < 1` or `maxTasksPerChild < 1`,
    ///   ``PoolError/Code/spawnFailed`` when a worker cannot be started.
    public convenience init(workers: Int? = nil, maxTasksPerChild: Int? = nil, initializer: WorkerInitializer? = nil) throws {
        try self.init(configuration: Configuration(workers: workers, maxTasksPerChild: maxTasksPerChild, initializer: initializer))
    }

    public init(configuration: Configuration) throws {
        let workers = configuration.workers ?? Self.usableCPUCount
        guard workers >= 1 else {
            throw PoolError(.invalidArgument, "the number of workers must be at least 1 (got \(workers))")
        }
        if let limit = configuration.maxTasksPerChild, limit < 1 {
            throw PoolError(.invalidArgument, "maxTasksPerChild must be at least 1 or nil (got \(limit))")
        }
        if let timeout = configuration.taskTimeout, timeout <= .zero {
            throw PoolError(.invalidArgument, "taskTimeout must be positive (got \(timeout))")
        }
        guard configuration.terminationGrace >= .zero else {
            throw PoolError(.invalidArgument, "terminationGrace must not be negative (got \(configuration.terminationGrace))")
        }
        guard configuration.maxCrashRetries >= 0 else {
            throw PoolError(.invalidArgument, "maxCrashRetries must not be negative (got \(configuration.maxCrashRetries))")
        }
        if let initializer = configuration.initializer, let registry = configuration.registry,
           !registry.contains(initializer.taskName) {
            throw PoolError(.unknownTask, "initializer task '\(initializer.taskName)' is not registered")
        }
        // A worker that dies between our write and its read must not kill the parent.
        signal(SIGPIPE, SIG_IGN)
        self.configuration = configuration
        let origin = MonotonicClock.nanoseconds()
        shared = try PoolShared(targetWorkers: workers, origin: origin)
        let spawner = WorkerSpawner(
            executable: configuration.executable ?? "/proc/self/exe",
            arguments: configuration.arguments,
            environment: configuration.environment,
            captureOutput: configuration.captureOutput,
            argv0: configuration.executable ?? CommandLine.arguments.first ?? "worker")
        var settings = PoolSettings(
            maxTasksPerChild: configuration.maxTasksPerChild,
            maxCrashRetries: configuration.maxCrashRetries,
            initializer: configuration.initializer)
        settings.taskTimeout = configuration.taskTimeout.map(\.nanoseconds)
        settings.terminationGrace = configuration.terminationGrace.nanoseconds
        let core = try PoolCore(shared: shared, settings: settings, spawner: spawner, workers: workers)
        // The IO thread spawns the workers (see `PoolCore.startWorkers`); wait until it has.
        let started = StartupResult()
        try DedicatedThread.start(name: "ProcessPool IO") {
            do {
                try core.startWorkers()
            } catch {
                started.report(error)
                return
            }
            started.report(nil)
            core.run()
        }
        do {
            try started.wait()
        } catch {
            monitorLinks = []
            throw error
        }
        monitorLinks = Self.startMonitorLinks(configuration, shared: shared)
    }

    private static func startMonitorLinks(_ configuration: Configuration, shared: PoolShared) -> [MonitorLink] {
        let environment = ProcessInfo.processInfo.environment
        var modes: [MonitorLink.Mode] = []
        if let path = configuration.monitorSocket ?? environment[MonitorChannel.socketEnvironmentKey], !path.isEmpty {
            modes.append(.connect(path))
        }
        if configuration.attachable ?? (environment[MonitorChannel.attachEnvironmentKey] == "1") {
            modes.append(.listen)
        }
        return modes.compactMap { MonitorLink.start(shared: shared, mode: $0) }
    }

    /// The socket monitors can attach to, when the pool is attachable (see
    /// ``Configuration/attachable``).
    public var attachSocketPath: String? { monitorLinks.lazy.compactMap(\.listeningPath).first }

    /// Gives connected monitors a moment to receive the pool's last events.
    private func drainMonitorLinks() {
        for link in monitorLinks { link.waitUntilDrained(timeout: .seconds(2)) }
    }

    deinit {
        // A pool dropped without close/join or terminate must not leave workers behind.
        shared.state.withLock { state in
            if !state.finished && state.lifecycle != .terminated {
                state.lifecycle = .terminated
                state.inbox.append(.terminate)
            }
        }
        shared.wakeUp()
    }

    /// The number of CPUs this process may run on: the default worker count.
    public static var usableCPUCount: Int {
        let count = Int(cshim_usable_cpu_count())
        return count > 0 ? count : ProcessInfo.processInfo.activeProcessorCount
    }

    /// The worker count the pool is keeping (it changes with ``resize(workers:)``).
    public var workerCount: Int { shared.state.withLock { $0.targetWorkers } }

    /// The PIDs of the worker processes alive now, by slot.
    public var workerPIDs: [Int32] { shared.state.withLock { $0.workerPIDs } }

    /// This pool's number among the pools this process has created, from 1 (a monitor tells
    /// several pools of one program apart by it).
    public var id: Int { shared.poolID }

    /// When set, every later submission uses this chunk size instead of its own or Python's
    /// default: what a monitor's `]`/`[` keys set. Results do not change, only how the work is
    /// cut. Setting it announces ``PoolEvent/Kind/settingsChanged(chunksize:)``.
    /// - Precondition: nil or at least 1 (smaller values are ignored and read back as nil).
    public var chunksizeOverride: Int? {
        get { shared.chunksizeOverride }
        set { shared.setChunksizeOverride(newValue) }
    }

    /// Cuts the part of job `job` still waiting in the queue (not yet sent to a worker) again,
    /// into chunks of `chunksize` items: what a monitor's `]`/`[` do mid-run, so that the effect
    /// of a chunk size is seen on the running job at once. Results do not change, only how the
    /// rest is cut; chunks already at workers, and remainders of chunks whose worker died, keep
    /// theirs. Input the job reads later is cut the new way too. Announced by
    /// ``PoolEvent/Kind/chunksRecut(job:chunksize:firstChunk:chunks:start:count:queue:)``; a job
    /// that is unknown or finished, or an `imapUnordered` job (which hands results over a chunk
    /// of its first size at a time), is left alone and nothing is announced.
    /// - Parameter job: the job's id, as in its ``JobDescriptor`` (`jobSubmitted`).
    /// - Throws: ``PoolError/Code/invalidArgument`` for `chunksize < 1`, ``PoolError/Code/notRunning``
    ///   once the pool has been terminated.
    public func rechunk(job: Int, chunksize: Int) throws {
        guard chunksize >= 1 else { throw PoolError(.invalidArgument, "chunksize must be at least 1 (got \(chunksize))") }
        try shared.send(.rechunk(job: job, chunksize: chunksize), always: true)
    }

    /// Python's default chunksize for `map_async` of `count` items on `workers` workers:
    /// `chunksize, extra = divmod(count, workers * 4); if extra: chunksize += 1`.
    public static func defaultChunksize(items count: Int, workers: Int) -> Int {
        guard count > 0 else { return 1 }
        let (chunksize, extra) = count.quotientAndRemainder(dividingBy: workers * 4)
        return extra > 0 ? chunksize + 1 : chunksize
    }

    // MARK: apply

    /// Runs `task(argument)` in a worker. Python's `apply_async`.
    public func applyAsync<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ argument: Argument, label: String? = nil,
        callback: (@Sendable (Result) -> Void)? = nil, errorCallback: (@Sendable (any Error) -> Void)? = nil
    ) throws -> AsyncResult<Result> {
        let result = AsyncResult<Result>(callback: callback, errorCallback: errorCallback)
        try submitWhole(task, [argument], mode: .apply, chunksize: 1, automatic: false, label: label) { all in
            result.resolve(all.map { $0[0] })
        }
        return result
    }

    /// Runs `task(argument)` in a worker and waits for the result. Python's `apply`.
    public func apply<Argument, Result>(_ task: PoolTask<Argument, Result>, _ argument: Argument) throws -> Result {
        try applyAsync(task, argument).get()
    }

    /// Runs `task(argument)` in a worker and awaits the result.
    public func apply<Argument, Result>(_ task: PoolTask<Argument, Result>, _ argument: Argument) async throws -> Result {
        try await applyAsync(task, argument).value
    }

    // MARK: map

    /// Runs `task` on every item, in chunks; the result is the list of results in input order,
    /// available once every chunk is done. Python's `map_async`.
    /// - Parameters:
    ///   - chunksize: items per chunk; `nil` for Python's default (see ``defaultChunksize(items:workers:)``).
    ///   - label: the job's name in events (defaults to the task name).
    ///   - callback: runs once with the whole list; `errorCallback` runs instead if any item failed.
    /// - Throws: ``PoolError/Code/invalidArgument`` for `chunksize < 1`, ``PoolError/Code/encoding``
    ///   if an argument cannot be encoded, ``PoolError/Code/notRunning`` after `close()`.
    public func mapAsync<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: some Sequence<Argument>, chunksize: Int? = nil,
        label: String? = nil, callback: (@Sendable ([Result]) -> Void)? = nil,
        errorCallback: (@Sendable (any Error) -> Void)? = nil
    ) throws -> AsyncResult<[Result]> {
        try submitMap(task, items, mode: .map, chunksize: chunksize, label: label,
                      callback: callback, errorCallback: errorCallback)
    }

    /// ``mapAsync(_:_:chunksize:label:callback:errorCallback:)`` for a `Sendable` random-access
    /// collection (an array, a range mapped by a `Sendable` type). From
    /// ``backgroundEncodingThreshold`` items on, it returns at once, as Python's `map_async`
    /// does: the job is submitted (its `jobSubmitted` event goes out now), and its input is
    /// encoded in the background a slice at a time, each slice queued as it is ready, after the
    /// chunks of bigger jobs submitted before it. Encoding three million items on the caller's
    /// thread took seconds, and a second job submitted right after waited that long to exist.
    /// Below the threshold it is the same as the general form, and for big inputs a failure to
    /// encode an argument fails the job (the result's error) instead of being thrown here.
    public func mapAsync<Argument, Result, Items: RandomAccessCollection & Sendable>(
        _ task: PoolTask<Argument, Result>, _ items: Items, chunksize: Int? = nil,
        label: String? = nil, callback: (@Sendable ([Result]) -> Void)? = nil,
        errorCallback: (@Sendable (any Error) -> Void)? = nil
    ) throws -> AsyncResult<[Result]> where Items.Element == Argument {
        guard items.count >= Self.backgroundEncodingThreshold else {
            return try submitMap(task, items, mode: .map, chunksize: chunksize, label: label,
                                 callback: callback, errorCallback: errorCallback)
        }
        return try submitMapInBackground(task, items, chunksize: chunksize, label: label,
                                         callback: callback, errorCallback: errorCallback)
    }

    /// `mapAsync(...).get()`. Python's `map`.
    public func map<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: some Sequence<Argument>, chunksize: Int? = nil
    ) throws -> [Result] {
        try mapAsync(task, items, chunksize: chunksize).get()
    }

    /// `await mapAsync(...).value`.
    public func map<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: some Sequence<Argument>, chunksize: Int? = nil
    ) async throws -> [Result] {
        try await mapAsync(task, items, chunksize: chunksize).value
    }

    /// Maps over an asynchronous input, which is read to the end first (a map needs the length).
    /// - Throws: the input's error as ``PoolError/Code/inputFailed``; the pool stays usable.
    public func map<Argument, Result, Input: AsyncSequence>(
        _ task: PoolTask<Argument, Result>, _ items: Input, chunksize: Int? = nil
    ) async throws -> [Result] where Input.Element == Argument {
        var all: [Argument] = []
        do {
            for try await item in items { all.append(item) }
        } catch {
            throw PoolError(.inputFailed, "the input sequence threw: \(error)")
        }
        return try await mapAsync(task, all, chunksize: chunksize).value
    }

    /// Like ``mapAsync(_:_:chunksize:label:callback:errorCallback:)``, with each `(a, b)` tuple
    /// unpacked into the two parameters of a task registered with two parameters. Python's
    /// `starmap_async`.
    public func starmapAsync<A, B, Result>(
        _ task: PoolTask<Pair<A, B>, Result>, _ items: some Sequence<(A, B)>, chunksize: Int? = nil,
        label: String? = nil, callback: (@Sendable ([Result]) -> Void)? = nil,
        errorCallback: (@Sendable (any Error) -> Void)? = nil
    ) throws -> AsyncResult<[Result]> {
        try submitMap(task, items.map { Pair($0.0, $0.1) }, mode: .starmap, chunksize: chunksize, label: label,
                      callback: callback, errorCallback: errorCallback)
    }

    /// `starmapAsync(...).get()`. Python's `starmap`.
    public func starmap<A, B, Result>(
        _ task: PoolTask<Pair<A, B>, Result>, _ items: some Sequence<(A, B)>, chunksize: Int? = nil
    ) throws -> [Result] {
        try starmapAsync(task, items, chunksize: chunksize).get()
    }

    /// `await starmapAsync(...).value`.
    public func starmap<A, B, Result>(
        _ task: PoolTask<Pair<A, B>, Result>, _ items: some Sequence<(A, B)>, chunksize: Int? = nil
    ) async throws -> [Result] {
        try await starmapAsync(task, items, chunksize: chunksize).value
    }

    // MARK: imap

    /// Runs `task` on every item and yields the results in input order, each as soon as it and
    /// every one before it are done. Python's `imap`.
    public func imap<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: some Sequence<Argument>, chunksize: Int = 1, label: String? = nil
    ) throws -> ResultStream<Result> {
        try submitStream(task, items, mode: .imap, chunksize: chunksize, label: label)
    }

    /// Runs `task` on every item and yields the results in the order chunks complete (input
    /// order within a chunk). Python's `imap_unordered`.
    public func imapUnordered<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: some Sequence<Argument>, chunksize: Int = 1, label: String? = nil
    ) throws -> ResultStream<Result> {
        try submitStream(task, items, mode: .imapUnordered, chunksize: chunksize, label: label)
    }

    /// `imap` over an asynchronous input, consumed lazily as Python consumes an iterator: tasks
    /// start while the input is still being produced. An error thrown by the input is thrown by
    /// the stream after the results of the items before it.
    public func imap<Argument, Result, Input: AsyncSequence & Sendable>(
        _ task: PoolTask<Argument, Result>, _ items: Input, chunksize: Int = 1, label: String? = nil
    ) throws -> ResultStream<Result> where Input.Element == Argument {
        try submitLazyStream(task, items, mode: .imap, chunksize: chunksize, label: label)
    }

    /// `imapUnordered` over an asynchronous input, consumed lazily.
    public func imapUnordered<Argument, Result, Input: AsyncSequence & Sendable>(
        _ task: PoolTask<Argument, Result>, _ items: Input, chunksize: Int = 1, label: String? = nil
    ) throws -> ResultStream<Result> where Input.Element == Argument {
        try submitLazyStream(task, items, mode: .imapUnordered, chunksize: chunksize, label: label)
    }

    // MARK: life cycle

    /// Takes no new work; queued work still runs, then the workers exit. Python's `close`.
    public func close() {
        let wake = shared.state.withLock { state -> Bool in
            guard state.lifecycle == .running else { return false }
            state.lifecycle = .closed
            state.inbox.append(.close)
            return true
        }
        if wake { shared.wakeUp() }
    }

    /// Kills every worker at once and fails every pending result with
    /// ``PoolError/Code/terminated``; returns once the workers are reaped. Python's `terminate`.
    public func terminate() {
        shared.state.withLock { state in
            if state.lifecycle != .terminated {
                state.lifecycle = .terminated
                state.inbox.append(.terminate)
            }
        }
        shared.wakeUp()
        shared.waitUntilFinished()
        drainMonitorLinks()
    }

    /// Waits for the workers to exit after ``close()`` or ``terminate()``. Python's `join`.
    /// - Throws: ``PoolError/Code/stillRunning`` if the pool was neither closed nor terminated.
    public func join() throws {
        let running = shared.state.withLock { $0.lifecycle == .running }
        if running { throw PoolError(.stillRunning, "join() needs close() or terminate() first") }
        shared.waitUntilFinished()
        drainMonitorLinks()
    }

    /// Changes the worker count while the pool runs: new workers start at once; surplus ones are
    /// retired after their current chunk.
    /// - Throws: ``PoolError/Code/invalidArgument`` for `workers < 1`, ``PoolError/Code/notRunning``
    ///   after `close()`.
    public func resize(workers: Int) throws {
        guard workers >= 1 else {
            throw PoolError(.invalidArgument, "the number of workers must be at least 1 (got \(workers))")
        }
        try shared.send(.resize(workers))
        shared.state.withLock { $0.targetWorkers = workers }
    }

    /// Sends `signal` to one worker of this pool.
    ///
    /// The signal goes only to a current worker of this pool, through the pool's own handle on
    /// the process (a pidfd), never to a stale PID that another process may have taken since.
    /// A worker that dies of a signal sent this way is replaced like any lost worker, and its
    /// unfinished items run again, without counting toward ``Configuration/maxCrashRetries``:
    /// a kill the caller asked for is no evidence against the item the worker was running.
    /// - Parameters:
    ///   - pid: the worker's PID, as in ``workerPIDs`` or the events.
    ///   - signal: the signal number (1…64), such as `SIGKILL` or `SIGSTOP`.
    /// - Throws: ``PoolError/Code/invalidArgument`` when `pid` is not a worker of this pool (or
    ///   no longer is: it has exited, or the pool has finished), or `signal` is not a signal.
    public func signalWorker(pid: Int32, signal: Int32) throws {
        try shared.signalWorker(pid: pid, signal: signal)
    }

    /// A live stream of everything the pool does. It starts with the current workers (and jobs)
    /// and ends when the pool has finished.
    /// - Parameter bufferingLimit: events held for a slow reader; beyond that, new events are
    ///   dropped and counted (see ``PoolEvent/Kind/eventsDropped(count:)``), and the pool never waits.
    public func events(bufferingLimit: Int = 65_536) -> AsyncStream<PoolEvent> {
        let (stream, id) = shared.events.subscribe(bufferingLimit: bufferingLimit)
        if let id { try? shared.send(.activateSubscriber(id), always: true) }
        return stream
    }

    /// The same events as ``events(bufferingLimit:)``, handed over a batch at a time (what the
    /// pool did in one turn of its IO loop): for observers of very busy pools, one hop through
    /// the stream per batch instead of per event.
    public func eventBatches(bufferingLimit: Int = 65_536) -> AsyncStream<[PoolEvent]> {
        let (stream, id) = shared.events.subscribeBatches(bufferingLimit: bufferingLimit)
        if let id { try? shared.send(.activateSubscriber(id), always: true) }
        return stream
    }

    /// Events dropped so far because subscribers fell behind.
    public var droppedEventCount: Int { shared.events.droppedCount }

    // MARK: submission

    private func checkTask<A, R>(_ task: PoolTask<A, R>) throws {
        if let registry = configuration.registry, !registry.contains(task.name) {
            throw PoolError(.unknownTask, "task '\(task.name)' is not registered")
        }
    }

    private func resolveChunksize(_ chunksize: Int?, count: Int) throws -> (Int, Bool) {
        if let chunksize, chunksize < 1 {
            throw PoolError(.invalidArgument, "chunksize must be at least 1 (got \(chunksize))")
        }
        if let chunksize = chunksizeOverride ?? chunksize { return (chunksize, false) }
        return (Self.defaultChunksize(items: count, workers: workerCount), true)
    }

    /// Encodes `items` straight from the sequence (a lazy one is never held as an array of
    /// arguments beside the encoded bytes), then submits them.
    private func submitMap<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: some Sequence<Argument>, mode: JobMode, chunksize: Int?, label: String?,
        callback: (@Sendable ([Result]) -> Void)?, errorCallback: (@Sendable (any Error) -> Void)?
    ) throws -> AsyncResult<[Result]> {
        if let chunksize { _ = try resolveChunksize(chunksize, count: 0) }
        try checkTask(task)
        let encoded = try EncodedItems(items, task: task.name, encode: task.encodeArgument)
        let (size, automatic) = try resolveChunksize(chunksize, count: encoded.count)
        let result = AsyncResult<[Result]>(callback: callback, errorCallback: errorCallback)
        try submitEncoded(task, encoded, mode: mode, chunksize: size, automatic: automatic, label: label) { all in
            result.resolve(all)
        }
        return result
    }

    /// Submits a map job now and encodes its input in the background (see the `Sendable`
    /// collection form of `mapAsync`).
    private func submitMapInBackground<Argument, Result, Items: RandomAccessCollection & Sendable>(
        _ task: PoolTask<Argument, Result>, _ items: Items, chunksize: Int?, label: String?,
        callback: (@Sendable ([Result]) -> Void)?, errorCallback: (@Sendable (any Error) -> Void)?
    ) throws -> AsyncResult<[Result]> where Items.Element == Argument {
        try checkTask(task)
        let (size, automatic) = try resolveChunksize(chunksize, count: items.count)
        let result = AsyncResult<[Result]>(callback: callback, errorCallback: errorCallback)
        let description = descriptor(task, mode: .map, count: items.count, chunksize: size, automatic: automatic, label: label)
        let decode = task.decodeResult
        let delivery = JobDelivery.whole { results in
            if let error = results.firstError {
                result.resolve(.failure(error))
                return
            }
            result.resolve(Swift.Result { try results.decodeAll(decode) }.mapError {
                $0 is PoolError ? $0 : PoolError(.encoding, "a result of task '\(task.name)' could not be decoded: \($0)")
            })
        }
        try shared.send(.submit(JobSubmission(descriptor: description, items: EncodedItems(), inputComplete: false, delivery: delivery)))
        let shared = self.shared
        let job = description.id
        // Whole chunks per slice, so that the engine's chunk numbering (by chunksize from item
        // 0) matches what it is given; about 64k items each.
        let slice = max(1, 65_536 / size) * size
        backgroundEncoding.withLock { latest in
            let previous = latest
            latest = Task.detached {
                // Jobs queue their chunks in submission order, as the caller submitted them.
                await previous?.value
                var start = items.startIndex
                var sent = 0
                var failure: PoolError?
                while start != items.endIndex {
                    let end = items.index(start, offsetBy: slice, limitedBy: items.endIndex) ?? items.endIndex
                    do {
                        let encoded = try EncodedItems(items[start..<end], task: task.name, startingAt: sent, encode: task.encodeArgument)
                        try shared.send(.appendInput(job: job, items: encoded), always: true)
                    } catch let error as PoolError {
                        failure = error
                        break
                    } catch {
                        failure = PoolError(.encoding, "the input of task '\(task.name)' could not be encoded: \(error)")
                        break
                    }
                    sent += items.distance(from: start, to: end)
                    start = end
                }
                try? shared.send(.endInput(job: job, error: failure), always: true)
            }
        }
        return result
    }

    /// Submits a job whose results are handed over all at once.
    private func submitWhole<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: [Argument], mode: JobMode, chunksize: Int, automatic: Bool,
        label: String?, finish: @escaping @Sendable (Swift.Result<[Result], any Error>) -> Void
    ) throws {
        try checkTask(task)
        try submitEncoded(task, try EncodedItems(items, task: task.name, encode: task.encodeArgument), mode: mode,
                          chunksize: chunksize, automatic: automatic, label: label, finish: finish)
    }

    /// Submits a job of encoded arguments whose results are handed over all at once.
    private func submitEncoded<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ encoded: EncodedItems, mode: JobMode, chunksize: Int, automatic: Bool,
        label: String?, finish: @escaping @Sendable (Swift.Result<[Result], any Error>) -> Void
    ) throws {
        let decode = task.decodeResult
        let delivery = JobDelivery.whole { results in
            if let error = results.firstError {
                finish(.failure(error))
                return
            }
            finish(Swift.Result { try results.decodeAll(decode) }.mapError {
                $0 is PoolError ? $0 : PoolError(.encoding, "a result of task '\(task.name)' could not be decoded: \($0)")
            })
        }
        try shared.send(.submit(JobSubmission(
            descriptor: descriptor(task, mode: mode, count: encoded.count, chunksize: chunksize, automatic: automatic, label: label),
            items: encoded, inputComplete: true, delivery: delivery)))
    }

    private func submitStream<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: some Sequence<Argument>, mode: JobMode, chunksize: Int, label: String?
    ) throws -> ResultStream<Result> {
        let (chunksize, _) = try resolveChunksize(chunksize, count: 0)
        try checkTask(task)
        let encoded = try EncodedItems(items, task: task.name, encode: task.encodeArgument)
        let stream = ResultStream<Result>(decode: task.decodeResult)
        try shared.send(.submit(JobSubmission(
            descriptor: descriptor(task, mode: mode, count: encoded.count, chunksize: chunksize, automatic: false, label: label),
            items: encoded, inputComplete: true,
            delivery: mode == .imap ? .ordered(stream) : .unordered(stream))))
        return stream
    }

    private func submitLazyStream<Argument, Result, Input: AsyncSequence & Sendable>(
        _ task: PoolTask<Argument, Result>, _ items: Input, mode: JobMode, chunksize: Int, label: String?
    ) throws -> ResultStream<Result> where Input.Element == Argument {
        let (chunksize, _) = try resolveChunksize(chunksize, count: 0)
        try checkTask(task)
        let stream = ResultStream<Result>(decode: task.decodeResult)
        let description = descriptor(task, mode: mode, count: 0, chunksize: chunksize, automatic: false, label: label)
        try shared.send(.submit(JobSubmission(
            descriptor: description, items: EncodedItems(), inputComplete: false,
            delivery: mode == .imap ? .ordered(stream) : .unordered(stream))))
        let shared = self.shared
        let job = description.id
        // The feeder sends whole chunks as they fill, so the engine's chunk numbering (by
        // chunksize from item 0) matches what it is given.
        Task {
            var batch: [Argument] = []
            var sent = 0
            func flush() throws {
                guard !batch.isEmpty else { return }
                let encoded = try EncodedItems(batch, task: task.name, startingAt: sent, encode: task.encodeArgument)
                try shared.send(.appendInput(job: job, items: encoded), always: true)
                sent += batch.count
                batch.removeAll(keepingCapacity: true)
            }
            var failure: PoolError?
            do {
                for try await item in items {
                    batch.append(item)
                    if batch.count == chunksize { try flush() }
                }
                try flush()
            } catch let error as PoolError {
                failure = error
            } catch {
                try? flush()
                failure = PoolError(.inputFailed, "the input sequence threw after \(sent) items: \(error)")
            }
            try? shared.send(.endInput(job: job, error: failure), always: true)
        }
        return stream
    }

    private func descriptor<A, R>(_ task: PoolTask<A, R>, mode: JobMode, count: Int, chunksize: Int,
                                  automatic: Bool, label: String?) -> JobDescriptor {
        JobDescriptor(id: shared.makeJobID(), label: label ?? task.name, function: task.name, itemCount: count,
                      chunksize: chunksize, chunksizeIsAutomatic: automatic, mode: mode)
    }
}

/// Runs `body` with a new pool, then closes it and waits for its workers (or, if `body` throws,
/// terminates it): no worker outlives the call.
public func withProcessPool<R>(
    _ configuration: ProcessPool.Configuration = .init(), _ body: (ProcessPool) throws -> R
) throws -> R {
    let pool = try ProcessPool(configuration: configuration)
    do {
        let result = try body(pool)
        pool.close()
        try pool.join()
        return result
    } catch {
        pool.terminate()
        throw error
    }
}

/// The `async` form of ``withProcessPool(_:_:)-(_,(ProcessPool)->R)``.
public func withProcessPool<R>(
    _ configuration: ProcessPool.Configuration = .init(),
    isolation: isolated (any Actor)? = #isolation,
    _ body: (ProcessPool) async throws -> R
) async throws -> R {
    let pool = try ProcessPool(configuration: configuration)
    do {
        let result = try await body(pool)
        pool.close()
        try pool.join()
        return result
    } catch {
        pool.terminate()
        throw error
    }
}
