/// One thing that happened in a pool, stamped with a monotonic time.
///
/// The engine emits these on its IO thread, in the order things happened, to every subscriber of
/// ``ProcessPool/events(bufferingLimit:)``. The monitor folds them into its state; `--events`
/// records them as JSON Lines (see ``PoolEvent/jsonLine``).
public struct PoolEvent: Sendable, Equatable {
    /// Nanoseconds since the pool was created (CLOCK_MONOTONIC).
    public var time: UInt64
    public var kind: Kind

    public init(time: UInt64, kind: Kind) {
        self.time = time
        self.kind = kind
    }

    public enum Kind: Sendable, Equatable {
        /// The first event of every pool's stream (and of a late subscriber's snapshot): which
        /// pool this is. `pool` numbers the pools of one process from 1; `pid` is that process.
        /// In a log holding several runs, each run starts here (its times start again at 0).
        case poolCreated(pool: Int, pid: Int32, workers: Int)
        /// A worker process was spawned into `slot` (slots are stable rows: a replacement reuses one).
        /// `host` is set for a worker started through a ``WorkerLauncher`` (ssh, srun): the host
        /// name it reported, with `pid` its PID there; `nil` for a worker on this machine.
        case workerStarted(slot: Int, pid: Int32, host: String? = nil)
        /// The worker ran its initializer and takes tasks.
        case workerReady(slot: Int, pid: Int32)
        /// A worker process ended and was reaped. `details` is its death report (schema 3: how long
        /// it lived, its peak RSS, an OOM kill, the item it was on, its last output, what went
        /// back to the queue); nil in older logs and from engines that do not say.
        case workerExited(slot: Int, pid: Int32, termination: WorkerTermination, reason: WorkerExitReason,
                          details: WorkerExitDetails? = nil)
        /// A job was accepted.
        case jobSubmitted(JobDescriptor)
        /// Items `start ..< start+count` of a job entered the queue as chunks `firstChunk ..<
        /// firstChunk+chunks`, each of the job's chunksize but the last (one event per submission,
        /// not per chunk, so that a million-item map costs one event here).
        case chunksQueued(job: Int, firstChunk: Int, chunks: Int, start: Int, count: Int, queue: QueueDepth)
        /// The queued, not yet dispatched items `start ..< start+count` of a running job were cut
        /// again, into chunks `firstChunk ..< firstChunk+chunks` of `chunksize` items each but the
        /// last (``ProcessPool/rechunk(job:chunksize:)``, a monitor's `]`/`[` mid-run). They
        /// replace the chunks those items were in; later input of the job is cut the same way.
        case chunksRecut(job: Int, chunksize: Int, firstChunk: Int, chunks: Int, start: Int, count: Int, queue: QueueDepth)
        /// The unfinished part of a chunk whose worker died went back to the front of the queue.
        case chunkRequeued(job: Int, chunk: Int, start: Int, count: Int, queue: QueueDepth)
        /// A chunk was sent to a worker (it may wait there behind that worker's current chunk).
        case chunkDispatched(job: Int, chunk: Int, start: Int, count: Int, pid: Int32, queue: QueueDepth)
        /// Consecutive chunks `firstChunk ..< firstChunk+chunks` of a job, items `start ..< start+count`,
        /// sent to one worker at once (schema 3): the coarse form of ``chunkDispatched`` for tiny
        /// items, which the pool hands out many chunks at a time. Every chunk of the run has the
        /// job's chunksize but the last; a single chunk, and a re-queued chunk's remainder, always
        /// come as ``chunkDispatched``. `queue` is the depth after the whole run left it.
        case chunksDispatched(job: Int, firstChunk: Int, chunks: Int, start: Int, count: Int, pid: Int32, queue: QueueDepth)
        /// A worker began an item. A worker reports starts after two items of ~0.2 ms or more in
        /// a row, or one of 5 ms or more (one such item among tiny ones was most often only
        /// preempted), and otherwise only after 10 ms without writing; every item still gets
        /// ``itemFinished`` or a place in an ``itemsFinished`` run.
        case itemStarted(job: Int, index: Int, pid: Int32)
        /// A worker finished an item; `error` is the failure's description, `nil` on success.
        case itemFinished(job: Int, index: Int, pid: Int32, error: String?, nanoseconds: UInt64)
        /// Items `start ..< start+count` finished, in order, on one worker, all successfully, in
        /// `nanoseconds` in all: the coarse form of ``itemFinished`` for items too short to be seen
        /// one by one (schema 2). A run lies within one chunk or spans consecutive chunks of the
        /// same worker (the results of one turn of the pool's IO loop). A failed item, or one that took longer than
        /// ``PoolEvent/perItemThreshold``, always has its own ``itemFinished``.
        case itemsFinished(job: Int, start: Int, count: Int, pid: Int32, nanoseconds: UInt64)
        /// A late subscriber's snapshot only: how far a running job had got before it joined
        /// (items finished and failed, items handed to the caller, chunks done).
        case jobProgress(job: Int, finished: Int, failed: Int, delivered: Int, chunksDone: Int)
        /// The chunk size the pool will use for its next submissions changed (nil: each job's
        /// own, or Python's formula). Set by ``ProcessPool/chunksizeOverride`` (a monitor's `]`/`[`).
        case settingsChanged(chunksize: Int?)
        /// An item whose worker died before finishing it was queued again (`attempt` counts runs so far).
        case itemRetried(job: Int, index: Int, attempt: Int, deadPID: Int32)
        /// Results `start ..< start+count` became available to the caller (at the end for
        /// `map`, as the ordered prefix grows for `imap`, a chunk at a time for `imapUnordered`).
        case resultsDelivered(job: Int, start: Int, count: Int)
        /// Every item of a job is done; `error` describes the first failure, if any.
        case jobCompleted(job: Int, error: String?)
        /// The caller cancelled the job (schema 3): its queued chunks were dropped and its waiters
        /// got `CancellationError`. It ends the job in place of ``jobCompleted(job:error:)``;
        /// items already at a worker finish there, and their results are discarded.
        case jobCancelled(job: Int)
        /// The target worker count changed.
        case poolResized(from: Int, to: Int)
        /// The pool was closed (no new work) or terminated.
        case poolStateChanged(PoolRunState)
        /// A line a worker wrote to its standard output or error (only when output is captured).
        case workerOutput(pid: Int32, line: String)
        /// A worker broke the protocol or could not be spawned; it was killed or replaced.
        case workerFault(pid: Int32, message: String)
        /// Events this subscriber lost because it fell behind (counted, never silent).
        case eventsDropped(count: Int)
    }
}

extension PoolEvent {
    /// Items that run longer than this get one ``Kind/itemFinished`` each; shorter ones are
    /// reported as runs (``Kind/itemsFinished``): a person cannot see them one by one, and one
    /// event per run is what keeps watching a pool of tiny tasks nearly free.
    public static let perItemThreshold: UInt64 = 20_000_000
}

/// How a worker process ended.
public enum WorkerTermination: Sendable, Equatable, CustomStringConvertible {
    case exited(code: Int32)
    case signaled(signal: Int32)

    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signaled(let signal): signalName(signal)
        }
    }
}

/// Why a worker process ended.
public enum WorkerExitReason: String, Sendable, Equatable {
    /// It died on its own (killed, crashed): the pool replaces it.
    case crashed
    /// The pool shrank and retired it after its current chunk.
    case retired
    /// It reached `maxTasksPerChild` and was replaced.
    case maxTasksReached
    /// The pool was closed and the work ran out.
    case poolClosed
    /// The pool was terminated.
    case terminated
    /// It broke the protocol and was killed.
    case protocolViolation
    /// Its initializer failed.
    case initializerFailed
    /// It ran an item past the pool's `taskTimeout` and was stopped.
    case timedOut
}

/// Where a pool is in its life.
public enum PoolRunState: String, Sendable, Equatable {
    case running, closed, terminated, finished
}

/// Work waiting in the pool's queue, not yet sent to any worker.
public struct QueueDepth: Sendable, Equatable {
    public var chunks: Int
    public var items: Int

    public init(chunks: Int, items: Int) {
        self.chunks = chunks
        self.items = items
    }
}

/// How a job hands results to its caller.
public enum JobMode: String, Sendable, Equatable, CaseIterable {
    case apply
    case map = "map_async"
    case starmap
    case imap
    case imapUnordered = "imap_unordered"
}

/// What a job is, as announced by ``PoolEvent/Kind/jobSubmitted(_:)``.
public struct JobDescriptor: Sendable, Equatable {
    public var id: Int
    /// The caller's name for the job (the demo uses `sum` and `product`), or the task name.
    public var label: String
    /// The registered task name.
    public var function: String
    /// Items known at submission (for a lazily consumed `imap` input: 0, growing with `chunkQueued`).
    public var itemCount: Int
    public var chunksize: Int
    /// Whether `chunksize` came from Python's default formula rather than the caller.
    public var chunksizeIsAutomatic: Bool
    public var mode: JobMode

    public init(id: Int, label: String, function: String, itemCount: Int, chunksize: Int,
                chunksizeIsAutomatic: Bool, mode: JobMode) {
        self.id = id
        self.label = label
        self.function = function
        self.itemCount = itemCount
        self.chunksize = chunksize
        self.chunksizeIsAutomatic = chunksizeIsAutomatic
        self.mode = mode
    }
}

/// `SIGKILL` for 9 and so on; `signal N` for numbers without a name here.
public func signalName(_ signal: Int32) -> String {
    let names: [Int32: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
        8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
        14: "SIGALRM", 15: "SIGTERM",
    ]
    return names[signal] ?? "signal \(signal)"
}

extension PoolEvent.Kind {
    /// The chunks a ``chunkDispatched`` or ``chunksDispatched`` event sent to a worker, as one run
    /// (`chunks` is 1 for a single chunk); `nil` for any other event.
    public var dispatchedChunks: (job: Int, firstChunk: Int, chunks: Int, start: Int, count: Int, pid: Int32)? {
        switch self {
        case .chunkDispatched(let job, let chunk, let start, let count, let pid, _):
            (job, chunk, 1, start, count, pid)
        case .chunksDispatched(let job, let firstChunk, let chunks, let start, let count, let pid, _):
            (job, firstChunk, chunks, start, count, pid)
        default:
            nil
        }
    }
}
