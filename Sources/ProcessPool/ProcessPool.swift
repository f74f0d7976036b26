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
        /// How long a new worker may take to say it is ready (its initializer included) before
        /// it is killed as a failure to start; after several such failures in a row the pool
        /// gives up and its jobs fail with ``PoolError/Code/spawnFailed``. It catches a worker
        /// program that never reaches ``WorkerProcess/runIfRequested(_:)`` and does not exit.
        /// `nil` waits for ever.
        public var startupTimeout: Duration? = .seconds(60)
        /// How long a timed-out worker has between SIGTERM and SIGKILL.
        public var terminationGrace: Duration = .seconds(1)
        /// The worker executable; `nil` for this program (`/proc/self/exe`).
        public var executable: String?
        /// Arguments for the worker executable (after `argv[0]`).
        public var arguments: [String] = []
        /// The workers' environment; `nil` to inherit this process's.
        public var environment: [String: String]?
        /// Capture the workers' standard output and error as ``PoolEvent/Kind/workerOutput(pid:line:)``
        /// events instead of letting them write to this process's. Without it, their standard
        /// output is this process's, and their standard error is forwarded to this process's a
        /// whole line at a time; either way a worker's last lines go into its death report and a
        /// crash's ``PoolError/workerOutput``.
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
        /// How workers are started: here (`.local`, the default), or on other machines through
        /// ssh, Slurm's `srun` or a command of yours (see ``WorkerLauncher`` for what changes).
        /// With ssh and no ``workers`` given, the pool has as many workers as the hosts ask for.
        public var launcher: WorkerLauncher = .local
        /// Environment variables for workers started through a launcher, set on their command line
        /// (ssh forwards no environment). ``environment`` is the launcher process's own.
        public var remoteEnvironment: [String: String] = [:]

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

    /// Starts a pool with everything `configuration` says; the workers are running when it returns.
    /// - Throws: ``PoolError/Code/invalidArgument`` for a setting out of range,
    ///   ``PoolError/Code/unknownTask`` for an initializer missing from ``Configuration/registry``,
    ///   ``PoolError/Code/misuse`` in a process started as a pool worker that never reached
    ///   ``WorkerProcess/runIfRequested(_:)``, ``PoolError/Code/spawnFailed`` when a worker
    ///   cannot be started.
    /// See `init(configuration:)`.
    private static let mmapThresholdFixed: Bool = cshim_fix_mmap_threshold() == 1

    public init(configuration: Configuration) throws {
        // A worker whose `main` never reached `runIfRequested` would run the program itself and
        // start a pool of its own: every worker another pool, without end. Refuse at once.
        if WorkerProcess.isWorker {
            throw PoolError(.misuse, "this process was started as a process-pool worker (\(WorkerProcess.environmentKey) is set) "
                + "but never reached WorkerProcess.runIfRequested: call WorkerProcess.runIfRequested(registry) first thing "
                + "in main, before anything else runs (it serves tasks in a worker and returns at once otherwise)")
        }
        let workers = configuration.workers ?? configuration.launcher.defaultWorkerCount ?? Self.usableCPUCount
        guard workers >= 1 else {
            throw PoolError(.invalidArgument, "the number of workers must be at least 1 (got \(workers))")
        }
        if let limit = configuration.maxTasksPerChild, limit < 1 {
            throw PoolError(.invalidArgument, "maxTasksPerChild must be at least 1 or nil (got \(limit))")
        }
        // A big job allocates and frees buffers of megabytes. glibc raises its mmap threshold
        // each time it frees such a block, and serves the next ones from heaps it keeps: the
        // parent stayed tens of megabytes larger after a million-item `map` than before it
        // (twice CPython's RSS). Fixed at glibc's own default, large blocks go back to the
        // system when freed. Once per process; `MALLOC_MMAP_THRESHOLD_` in the environment
        // still decides if set.
        _ = Self.mmapThresholdFixed

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
        // Through a launcher the far side needs a real path (the same one, on a shared file
        // system): /proc/self/exe means nothing there.
        let launch = try configuration.launcher.isRemote
            ? LaunchCommand(launcher: configuration.launcher,
                            executable: configuration.executable ?? Self.ownExecutablePath(),
                            arguments: configuration.arguments, environment: configuration.remoteEnvironment)
            : nil
        let spawner = WorkerSpawner(
            executable: configuration.executable ?? "/proc/self/exe",
            arguments: configuration.arguments,
            environment: configuration.environment,
            captureOutput: configuration.captureOutput,
            argv0: configuration.executable ?? CommandLine.arguments.first ?? "worker",
            launch: launch)
        var settings = PoolSettings(
            maxTasksPerChild: configuration.maxTasksPerChild,
            maxCrashRetries: configuration.maxCrashRetries,
            initializer: configuration.initializer)
        settings.taskTimeout = configuration.taskTimeout.map(\.nanoseconds)
        settings.terminationGrace = configuration.terminationGrace.nanoseconds
        settings.startupTimeout = configuration.startupTimeout.map { max($0.nanoseconds, 1) }
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

    /// This program's executable as a path another machine can run (`/proc/self/exe` resolved).
    static func ownExecutablePath() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else {
            throw PoolError(.spawnFailed, "cannot find this program's path for remote workers: \(errnoDescription())")
        }
        buffer[length] = 0
        return String(cString: buffer)
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
        let job = shared.makeJobID()
        let result = AsyncResult<Result>(callback: callback, errorCallback: errorCallback, cancelJob: cancellation(of: job))
        try submitWhole(task, [argument], job: job, mode: .apply, chunksize: 1, automatic: false, label: label) { all in
            result.resolve(all.map { $0[0] })
        }
        return result
    }

    /// Runs `task(argument)` in a worker and waits for the result. Python's `apply`.
    public func apply<Argument, Result>(_ task: PoolTask<Argument, Result>, _ argument: Argument) throws -> Result {
        try applyAsync(task, argument).get()
    }

    /// Runs `task(argument)` in a worker and awaits the result. Cancelling the awaiting task
    /// cancels the job (see ``AsyncResult/cancel()``).
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

    /// `await mapAsync(...).value`. Cancelling the awaiting task cancels the job.
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
    ///
    /// The input is read as the stream's window allows (backpressure): at most `window` items
    /// are read and not yet taken by the consumer (in the queue, at a worker, or done and
    /// waiting to be read). The first window is read and encoded here; the rest of a longer
    /// input is read by a thread of the pool as the consumer takes results, a chunk at a time,
    /// so a lazy sequence of any length runs in bounded memory. The sequence is handed over
    /// (`sending`) because it is iterated on that thread, as Python's pool reads an iterator on
    /// its task-handler thread: a lazy sequence's closures must not be isolated to an actor
    /// (in `@MainActor` code, write `.lazy.map { @Sendable in … }`). Closing the pool lifts the
    /// window, so that queued work finishes even if nobody reads it.
    /// - Parameters:
    ///   - task: the registered task to run on each item.
    ///   - items: the input, read within the window (an array, a lazy sequence, any `Sequence`).
    ///   - chunksize: items per chunk (Python's default for `imap` is 1).
    ///   - window: the most items read ahead of the consumer, rounded down to whole chunks (at
    ///     least one); `nil` for a few chunks per worker, and at least 1,024 items per worker so
    ///     that tiny tasks keep the workers busy.
    ///   - label: the job's name in events (defaults to the task name).
    /// - Throws: ``PoolError/Code/invalidArgument`` for `chunksize < 1` or `window < 1`,
    ///   ``PoolError/Code/encoding`` if an argument of the first window cannot be encoded (a
    ///   later one ends the stream with that error, after the results before it).
    public func imap<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: sending some Sequence<Argument>, chunksize: Int = 1, window: Int? = nil,
        label: String? = nil
    ) throws -> ResultStream<Result> {
        try submitStream(task, items, mode: .imap, chunksize: chunksize, window: window, label: label)
    }

    /// Runs `task` on every item and yields the results in the order chunks complete (input
    /// order within a chunk). Python's `imap_unordered`. The input is read as the window allows,
    /// as for ``imap(_:_:chunksize:window:label:)-(_,Sequence,_,_,_)``.
    public func imapUnordered<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: sending some Sequence<Argument>, chunksize: Int = 1, window: Int? = nil,
        label: String? = nil
    ) throws -> ResultStream<Result> {
        try submitStream(task, items, mode: .imapUnordered, chunksize: chunksize, window: window, label: label)
    }

    /// `imap` over an asynchronous input, consumed lazily as Python consumes an iterator: tasks
    /// start while the input is still being produced, and the input is read only as the
    /// stream's window allows (see ``imap(_:_:chunksize:window:label:)-(_,Sequence,_,_,_)``).
    /// An error thrown by the input is thrown by the stream after the results of the items before it.
    public func imap<Argument, Result, Input: AsyncSequence & Sendable>(
        _ task: PoolTask<Argument, Result>, _ items: Input, chunksize: Int = 1, window: Int? = nil, label: String? = nil
    ) throws -> ResultStream<Result> where Input.Element == Argument {
        try submitLazyStream(task, items, mode: .imap, chunksize: chunksize, window: window, label: label)
    }

    /// `imapUnordered` over an asynchronous input, consumed lazily, within the stream's window.
    public func imapUnordered<Argument, Result, Input: AsyncSequence & Sendable>(
        _ task: PoolTask<Argument, Result>, _ items: Input, chunksize: Int = 1, window: Int? = nil, label: String? = nil
    ) throws -> ResultStream<Result> where Input.Element == Argument {
        try submitLazyStream(task, items, mode: .imapUnordered, chunksize: chunksize, window: window, label: label)
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

    /// Waits for the workers to exit after ``close()`` or ``terminate()``, without blocking a
    /// thread: the pool's IO thread resumes the caller when the last worker is reaped. Python's
    /// `join`, for `async` code (the blocking ``join()`` would hold one of the few threads of
    /// Swift's cooperative pool, which other tasks, such as a lazy input's feeder, may need).
    ///
    /// Cancelling the waiting task does not stop the wait: the workers are finishing work that
    /// was already handed to them (``terminate()`` stops them at once).
    /// - Throws: ``PoolError/Code/stillRunning`` if the pool was neither closed nor terminated.
    public func join() async throws {
        let running = shared.state.withLock { $0.lifecycle == .running }
        if running { throw PoolError(.stillRunning, "join() needs close() or terminate() first") }
        await shared.waitUntilFinished()
        await drainMonitorLinksAsync()
    }

    /// ``terminate()`` without blocking a thread.
    func terminateAndWait() async {
        shared.state.withLock { state in
            if state.lifecycle != .terminated {
                state.lifecycle = .terminated
                state.inbox.append(.terminate)
            }
        }
        shared.wakeUp()
        await shared.waitUntilFinished()
        await drainMonitorLinksAsync()
    }

    /// ``drainMonitorLinks()`` on a thread of its own when there is a link to wait for.
    private func drainMonitorLinksAsync() async {
        guard !monitorLinks.isEmpty else { return }
        let links = monitorLinks
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            do {
                try DedicatedThread.start(name: "monitor drain") {
                    for link in links { link.waitUntilDrained(timeout: .seconds(2)) }
                    continuation.resume()
                }
            } catch {
                continuation.resume()  // no thread to spare: skip the courtesy wait
            }
        }
    }

    // MARK: per-item outcomes

    /// Like ``imap(_:_:chunksize:window:label:)-(_,Sequence,_,_,_)``, but each
    /// item's outcome is an element: a failed item yields `.failure(error)` in its place and the
    /// stream goes on, so one bad item does not end the others. Pool errors (terminated, input
    /// failed) also arrive as elements; the stream throws only `CancellationError` (see
    /// ``ResultStream``). The input is read within the window, as for `imap`.
    public func imapResults<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: sending some Sequence<Argument>, chunksize: Int = 1, window: Int? = nil,
        label: String? = nil
    ) throws -> ResultStream<Swift.Result<Result, any Error>> {
        try submitResults(task, items, mode: .imap, chunksize: chunksize, window: window, label: label)
    }

    /// Like ``map(_:_:chunksize:)-(_,_,Int?)``, but never fails as a whole for an item's error:
    /// every item's outcome, in input order, `.success(value)` or `.failure(error)` (a task's
    /// own error, as itself when its type is registered with ``TaskRegistry/registerError(_:)``,
    /// otherwise a ``TaskError``). Python's default chunk size, as for `map_async`. Cancelling the
    /// awaiting task cancels the job.
    /// - Throws: ``PoolError/Code/invalidArgument`` for `chunksize < 1`, ``PoolError/Code/encoding``
    ///   if an argument cannot be encoded, ``PoolError/Code/notRunning`` after `close()`,
    ///   `CancellationError`.
    public func mapResults<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: some Sequence<Argument>, chunksize: Int? = nil, label: String? = nil
    ) async throws -> [Swift.Result<Result, any Error>] {
        try await submitResults(task, items, mode: .map, chunksize: chunksize, window: nil, label: label).collect()
    }

    private func submitResults<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: some Sequence<Argument>, mode: JobMode, chunksize: Int?, window: Int?,
        label: String?
    ) throws -> ResultStream<Swift.Result<Result, any Error>> {
        let decode = task.decodeResult
        return try submitStream(task, items, mode: mode, ordered: true, chunksize: chunksize, window: window,
                                label: label) { job in
            ResultStream<Swift.Result<Result, any Error>>(
                decode: { reader in .success(try decode(&reader)) },
                failureElement: { .failure($0) },
                mapError: RegisteredErrors.revive,
                cancelJob: cancellation(of: job))
        }
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
        // A handle whose types differ from the registered task's would send arguments the worker
        // cannot decode, or read results as the wrong type: refuse it here, naming both.
        guard let registry = configuration.registry ?? WorkerProcess.programRegistry.withLock({ $0 }),
              let signature = registry.signature(of: task.name), !signature.matches(A.self, R.self)
        else { return }
        throw PoolError(.misuse, "the handle for task '\(task.name)' is PoolTask<\(String(reflecting: A.self)), "
            + "\(String(reflecting: R.self))>, but the task is registered taking \(signature.argumentName) and "
            + "returning \(signature.resultName): declare the handle with the registered types "
            + "(or use the handle that register returns)")
    }

    /// What cancelling job `job` does: asks the IO thread to drop its queued chunks.
    private func cancellation(of job: Int) -> @Sendable () -> Void {
        { [weak shared] in try? shared?.send(.cancelJob(job), always: true) }
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
        let encoded = try EncodedItems(items, task: task)
        let (size, automatic) = try resolveChunksize(chunksize, count: encoded.count)
        let job = shared.makeJobID()
        let result = AsyncResult<[Result]>(callback: callback, errorCallback: errorCallback, cancelJob: cancellation(of: job))
        try submitEncoded(task, encoded, job: job, mode: mode, chunksize: size, automatic: automatic, label: label) { all in
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
        let job = shared.makeJobID()
        let result = AsyncResult<[Result]>(callback: callback, errorCallback: errorCallback, cancelJob: cancellation(of: job))
        let description = descriptor(task, job: job, mode: .map, count: items.count, chunksize: size, automatic: automatic,
                                     label: label)
        let delivery = JobDelivery.whole { results in
            if let error = results.firstError {
                result.resolve(.failure(RegisteredErrors.revive(error)))
                return
            }
            result.resolve(Swift.Result { try results.decodeAll(task) }.mapError {
                $0 is PoolError ? $0 : PoolError(.encoding, "a result of task '\(task.name)' could not be decoded: \($0)")
            })
        }
        // The input arrives through an InputFeed with no window (map_async has its whole input).
        let feed = InputFeed(limit: .max, chunksize: size, alreadyFed: 0)
        feed.lift()
        try shared.send(.submit(JobSubmission(descriptor: description, items: EncodedItems(), inputComplete: false,
                                              delivery: delivery, feed: feed)))
        let shared = self.shared
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
                        var encoded = try EncodedItems(items[start..<end], task: task, startingAt: sent)
                        if feed.put(&encoded) { try shared.send(.inputAvailable(job: job), always: true) }
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
        _ task: PoolTask<Argument, Result>, _ items: [Argument], job: Int, mode: JobMode, chunksize: Int, automatic: Bool,
        label: String?, finish: @escaping @Sendable (Swift.Result<[Result], any Error>) -> Void
    ) throws {
        try checkTask(task)
        try submitEncoded(task, try EncodedItems(items, task: task), job: job, mode: mode,
                          chunksize: chunksize, automatic: automatic, label: label, finish: finish)
    }

    /// Submits a job of encoded arguments whose results are handed over all at once.
    private func submitEncoded<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ encoded: EncodedItems, job: Int, mode: JobMode, chunksize: Int, automatic: Bool,
        label: String?, finish: @escaping @Sendable (Swift.Result<[Result], any Error>) -> Void
    ) throws {
        let delivery = JobDelivery.whole { results in
            if let error = results.firstError {
                finish(.failure(RegisteredErrors.revive(error)))
                return
            }
            finish(Swift.Result { try results.decodeAll(task) }.mapError {
                $0 is PoolError ? $0 : PoolError(.encoding, "a result of task '\(task.name)' could not be decoded: \($0)")
            })
        }
        try shared.send(.submit(JobSubmission(
            descriptor: descriptor(task, job: job, mode: mode, count: encoded.count, chunksize: chunksize, automatic: automatic,
                                   label: label),
            items: encoded, inputComplete: true, delivery: delivery)))
    }

    private func submitStream<Argument, Result>(
        _ task: PoolTask<Argument, Result>, _ items: some Sequence<Argument>, mode: JobMode, chunksize: Int, window: Int?,
        label: String?
    ) throws -> ResultStream<Result> {
        try submitStream(task, items, mode: mode, ordered: mode == .imap, chunksize: chunksize, window: window,
                         label: label) { job in
            ResultStream<Result>(decode: task.decodeResult, mapError: RegisteredErrors.revive, cancelJob: cancellation(of: job))
        }
    }

    /// The window a stream job gets (see ``InputFeed``).
    private func windowLimit(_ window: Int?, chunksize: Int) throws -> Int {
        if let window {
            guard window >= 1 else { throw PoolError(.invalidArgument, "window must be at least 1 (got \(window))") }
            return window
        }
        return InputFeed.defaultLimit(workers: workerCount, chunksize: chunksize)
    }

    /// Submits a stream job whose stream `makeStream` builds for the job's id. With a chunk size
    /// given (`imap`, `imapUnordered`), the input is read within a window (see ``InputFeed``);
    /// without one (`mapResults`: Python's default chunk size needs the length) it is read whole.
    private func submitStream<Argument, Result, Element>(
        _ task: PoolTask<Argument, Result>, _ items: some Sequence<Argument>, mode: JobMode, ordered: Bool, chunksize: Int?,
        window: Int?, label: String?, makeStream: (Int) -> ResultStream<Element>
    ) throws -> ResultStream<Element> {
        if let chunksize { _ = try resolveChunksize(chunksize, count: 0) }
        try checkTask(task)
        if let chunksize {
            let (size, _) = try resolveChunksize(chunksize, count: 0)
            let limit = try windowLimit(window, chunksize: size)
            return try submitWindowed(task, items, mode: mode, ordered: ordered, chunksize: size, limit: limit,
                                      label: label, makeStream: makeStream)
        }
        let encoded = try EncodedItems(items, task: task)
        let (chunksize, automatic) = try resolveChunksize(chunksize, count: encoded.count)
        let job = shared.makeJobID()
        let stream = makeStream(job)
        try shared.send(.submit(JobSubmission(
            descriptor: descriptor(task, job: job, mode: mode, count: encoded.count, chunksize: chunksize, automatic: automatic,
                                   label: label),
            items: encoded, inputComplete: true,
            delivery: ordered ? .ordered(stream) : .unordered(stream))))
        return stream
    }

    /// Submits a stream job over a `Sequence` read within a window: the first window here (an
    /// input that fits is submitted whole, as before), the rest on a feeder thread.
    private func submitWindowed<Argument, Result, Element>(
        _ task: PoolTask<Argument, Result>, _ items: some Sequence<Argument>, mode: JobMode, ordered: Bool, chunksize: Int,
        limit: Int, label: String?, makeStream: (Int) -> ResultStream<Element>
    ) throws -> ResultStream<Element> {
        let firstWindow = max(chunksize, limit / chunksize * chunksize)
        if let array = items as? [Argument] {
            // An array: each window's worth is encoded at once by the task's batch encoder
            // (specialized for the argument type), not item by item through a generic iterator.
            let firstCount = min(array.count, firstWindow)
            return try startWindowed(task, first: try EncodedItems(array[0..<firstCount], task: task),
                                     complete: firstCount == array.count, mode: mode, ordered: ordered, chunksize: chunksize,
                                     limit: limit, label: label, makeStream: makeStream) { feed in
                var position = firstCount
                while position < array.count, let chunks = feed.room() {
                    let end = min(array.count, position + chunks * chunksize)
                    var batch = try EncodedItems(array[position..<end], task: task, startingAt: position)
                    feed.put(&batch)
                    position = end
                }
            }
        }
        var iterator = items.makeIterator()
        var first = EncodedItems()
        while first.count < firstWindow, let item = iterator.next() {
            try first.append(item, index: first.count, task: task.name, encode: task.encodeArgument)
        }
        let peeked = first.count == firstWindow ? iterator.next() : nil
        let source = peeked.map { SequenceFeedSource(iterator: iterator, next: $0) }
        let fed = first.count
        return try startWindowed(task, first: first, complete: source == nil, mode: mode, ordered: ordered,
                                 chunksize: chunksize, limit: limit, label: label, makeStream: makeStream) { feed in
            // A lazy input may block between items for as long as it likes (a file, a socket):
            // each chunk goes as soon as it is read.
            guard let source else { return }
            var batch = EncodedItems()
            var index = fed
            defer { feed.put(&batch) }  // the input's last items
            reading: while let chunks = feed.room() {
                for _ in 0..<chunks {
                    for _ in 0..<chunksize {
                        guard let item = source.next() else { break reading }
                        try batch.append(item, index: index, task: task.name, encode: task.encodeArgument)
                        index += 1
                    }
                    feed.put(&batch)
                }
            }
        }
    }

    /// What a feeder thread of a windowed stream job works with: the job's ``InputFeed``, and
    /// the pool to tell of what it puts there.
    private struct WindowedFeed: Sendable {
        let feed: InputFeed
        let shared: PoolShared
        let job: Int

        /// Blocks until at least one chunk may be read; `nil` once the job ended.
        func room() -> Int? { feed.waitForRoom() }

        /// Hands `batch` to the pool (telling it, unless a word is already on its way).
        func put(_ batch: inout EncodedItems) {
            if feed.put(&batch) { try? shared.send(.inputAvailable(job: job), always: true) }
        }
    }

    /// Submits a stream job with its first window encoded. An input that fits is submitted
    /// whole; otherwise `readRest` reads and puts the rest on a thread of its own (here, with
    /// the window lifted, if no thread can be had), and the job's input ends when it returns,
    /// with the error it threw, if any.
    private func startWindowed<Argument, Result, Element>(
        _ task: PoolTask<Argument, Result>, first: EncodedItems, complete: Bool, mode: JobMode, ordered: Bool,
        chunksize: Int, limit: Int, label: String?, makeStream: (Int) -> ResultStream<Element>,
        readRest: @escaping @Sendable (WindowedFeed) throws -> Void
    ) throws -> ResultStream<Element> {
        let job = shared.makeJobID()
        let stream = makeStream(job)
        let delivery: JobDelivery = ordered ? .ordered(stream) : .unordered(stream)
        guard !complete else {
            try shared.send(.submit(JobSubmission(
                descriptor: descriptor(task, job: job, mode: mode, count: first.count, chunksize: chunksize,
                                       automatic: false, label: label),
                items: first, inputComplete: true, delivery: delivery)))
            return stream
        }
        let feed = InputFeed(limit: limit, chunksize: chunksize, alreadyFed: first.count)
        stream.attachFeed(feed)
        try shared.send(.submit(JobSubmission(
            descriptor: descriptor(task, job: job, mode: mode, count: 0, chunksize: chunksize, automatic: false,
                                   label: label),
            items: first, inputComplete: false, delivery: delivery, feed: feed)))
        let windowed = WindowedFeed(feed: feed, shared: shared, job: job)
        let shared = self.shared
        let body: @Sendable () -> Void = {
            var failure: PoolError?
            do {
                try readRest(windowed)
            } catch {
                failure = error as? PoolError ?? PoolError(.encoding, "\(error)")
            }
            try? shared.send(.endInput(job: job, error: failure), always: true)
        }
        do {
            try DedicatedThread.start(name: "imap input") { body() }
        } catch {
            // No thread to spare: read the rest here, with the window lifted (it would wait for
            // a consumer that cannot run until this returns).
            feed.lift()
            body()
        }
        return stream
    }

    private func submitLazyStream<Argument, Result, Input: AsyncSequence & Sendable>(
        _ task: PoolTask<Argument, Result>, _ items: Input, mode: JobMode, chunksize: Int, window: Int?, label: String?
    ) throws -> ResultStream<Result> where Input.Element == Argument {
        let (chunksize, _) = try resolveChunksize(chunksize, count: 0)
        let limit = try windowLimit(window, chunksize: chunksize)
        try checkTask(task)
        let job = shared.makeJobID()
        let stream = ResultStream<Result>(decode: task.decodeResult, mapError: RegisteredErrors.revive,
                                          cancelJob: cancellation(of: job))
        let feed = InputFeed(limit: limit, chunksize: chunksize, alreadyFed: 0)
        stream.attachFeed(feed)
        let description = descriptor(task, job: job, mode: mode, count: 0, chunksize: chunksize, automatic: false, label: label)
        try shared.send(.submit(JobSubmission(
            descriptor: description, items: EncodedItems(), inputComplete: false,
            delivery: mode == .imap ? .ordered(stream) : .unordered(stream), feed: feed)))
        let shared = self.shared
        // The feeder reads only while the window has room for a whole chunk, and puts whole
        // chunks, so the engine's chunk numbering (by chunksize from item 0) matches what it
        // is given; the IO thread takes whatever has been put since it last looked (one command
        // per batch, not per chunk). It stops when the stream is cancelled (and is cancelled with it).
        let feeder = Task {
            var iterator = items.makeAsyncIterator()
            var batch = EncodedItems()
            var index = 0
            var failure: PoolError?
            do {
                reading: while let chunks = await feed.roomAsync() {
                    for _ in 0..<chunks {
                        for _ in 0..<chunksize {
                            guard let item = try await iterator.next() else { break reading }
                            try batch.append(item, index: index, task: task.name, encode: task.encodeArgument)
                            index += 1
                        }
                        // Each chunk as soon as it is read: the next item may be long in coming.
                        if feed.put(&batch) { try? shared.send(.inputAvailable(job: job), always: true) }
                    }
                }
            } catch let error as PoolError {
                failure = error
            } catch {
                failure = PoolError(.inputFailed, "the input sequence threw after \(index) items: \(error)")
            }
            _ = feed.put(&batch)  // the input's last items: taken at `endInput`
            try? shared.send(.endInput(job: job, error: failure), always: true)
        }
        stream.attachFeeder(feeder)
        return stream
    }

    private func descriptor<A, R>(_ task: PoolTask<A, R>, job: Int, mode: JobMode, count: Int, chunksize: Int,
                                  automatic: Bool, label: String?) -> JobDescriptor {
        JobDescriptor(id: job, label: label ?? task.name, function: task.name, itemCount: count,
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

/// The `async` form of ``withProcessPool(_:_:)-(_,(ProcessPool)->R)``. It waits for the workers
/// without blocking a thread (`try await pool.join()`), so pools ending at once never
/// starve Swift's cooperative thread pool.
public func withProcessPool<R>(
    _ configuration: ProcessPool.Configuration = .init(),
    isolation: isolated (any Actor)? = #isolation,
    _ body: (ProcessPool) async throws -> R
) async throws -> R {
    let pool = try ProcessPool(configuration: configuration)
    do {
        let result = try await body(pool)
        pool.close()
        try await pool.join()
        return result
    } catch {
        await pool.terminateAndWait()
        throw error
    }
}

/// A `Sequence`'s iterator handed to the thread that feeds a stream job (see ``InputFeed``).
final class SequenceFeedSource<Iterator: IteratorProtocol>: @unchecked Sendable {
    // Safe to share: the public `imap` calls take their sequence as `sending`, so the compiler
    // has proved that nothing else (no other task, no actor-isolated closure) can reach it; the
    // submitting call makes the iterator, reads the first window, hands it over here and never
    // touches it again; from then on only the one feeder thread calls `next()`.
    private var iterator: Iterator
    private var peeked: Iterator.Element?

    init(iterator: Iterator, next: Iterator.Element) {
        self.iterator = iterator
        peeked = next
    }

    func next() -> Iterator.Element? {
        if let item = peeked {
            peeked = nil
            return item
        }
        return iterator.next()
    }
}
