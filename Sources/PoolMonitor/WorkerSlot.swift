import ProcessPool

/// One row of the worker grid: the process in a pool slot, what it is doing, and its recent past.
///
/// Slots are stable (a replacement worker reuses its predecessor's slot), so a row keeps its
/// place and its task stream across a crash; the PID and counters are the current process's.
public struct WorkerSlot: Sendable {
    /// The state word shown in the grid.
    public enum Activity: Sendable, Equatable {
        /// Spawned, initializer not finished.
        case starting
        /// Ready, nothing assigned.
        case idle
        /// Running an item or holding chunks to run.
        case busy
        /// Chosen to leave after its current chunk because the pool shrank.
        case retiring
        /// Gone; how and why.
        case exited(WorkerTermination, WorkerExitReason)

        /// The word the grid shows (a crash says so rather than hiding behind "exited").
        public var word: String {
            switch self {
            case .starting: "starting"
            case .idle: "idle"
            case .busy: "busy"
            case .retiring: "retiring"
            case .exited(_, .crashed): "crashed"
            case .exited: "exited"
            }
        }
    }

    /// An item a worker is on: job id and 0-based index.
    public struct ItemRef: Sendable, Equatable, Hashable {
        public var job: Int
        public var index: Int

        public init(job: Int, index: Int) {
            self.job = job
            self.index = index
        }
    }

    /// A chunk sent to this worker and not yet finished, or a run of consecutive chunks sent at
    /// once (`chunks` > 1, items `start ..< start+count`). Items run in order, so
    /// `start + finished` is the item the worker is on once the one before it is done.
    public struct Assignment: Sendable, Equatable {
        public var job: Int
        /// The (first) chunk's number.
        public var chunk: Int
        public var start: Int
        public var count: Int
        public var finished: Int
        /// How many chunks the assignment holds (a run of tiny items' chunks is one assignment).
        public var chunks = 1

        /// The item the worker runs next from this chunk.
        public var nextItem: Int { start + finished }
    }

    public let slot: Int
    public private(set) var pid: Int32
    /// The host of a worker started through ssh or srun (from `workerStarted`); `nil` when local.
    public private(set) var host: String?
    public private(set) var startedAt: UInt64
    /// Set when `workerReady` arrives.
    public private(set) var isReady = false
    /// Set by inference when the pool shrinks (the engine retires idle workers first, then the
    /// highest slots; no event names them), and confirmed by the exit.
    public private(set) var isRetiring = false
    public private(set) var exit: (termination: WorkerTermination, reason: WorkerExitReason, at: UInt64)?

    /// The item reported by the last `itemStarted`, until it finishes.
    public private(set) var reportedItem: ItemRef?
    public private(set) var reportedItemStartedAt: UInt64 = 0
    /// Chunks sent to the worker, oldest (the running one) first.
    public var assignments: [Assignment] { Array(pending) }
    /// The assignments still open: `queue[head...]`. Chunks finish almost always in order, and a
    /// worker of tiny items has up to a thousand chunks in flight: removing the first from an
    /// array moved every other one (the fold's largest cost), so finished ones at the front are
    /// skipped by `head` and dropped in bulk.
    private var queue: [Assignment] = []
    private var head = 0
    private var pending: ArraySlice<Assignment> { queue[head...] }

    private mutating func removeAssignment(at position: Int) {
        if position == head {
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 64 && head * 2 >= queue.count {
                queue.removeFirst(head)
                head = 0
            }
        } else {
            queue.remove(at: position)
        }
    }

    private mutating func clearAssignments() {
        queue = []
        head = 0
    }
    /// When the worker last started or finished an item (the start of its current one when tiny
    /// items do not report starts).
    public private(set) var lastActivityAt: UInt64
    /// Items this process finished.
    public private(set) var itemsDone = 0
    /// Items this process finished with an error.
    public private(set) var itemsFailed = 0
    /// Processes that have run in this slot (1 for the first; a replacement makes it 2).
    public private(set) var generation = 1

    /// The job this slot worked on since the last task-stream sample, for the next sample.
    var jobSinceSample: Int?
    /// Whether the slot's process crashed since the last sample.
    var crashedSinceSample = false
    /// Task-stream samples, one per `tick`, oldest first.
    public internal(set) var stream: RecentHistory<StreamMark>

    init(slot: Int, pid: Int32, host: String? = nil, time: UInt64, streamCapacity: Int) {
        self.slot = slot
        self.pid = pid
        self.host = host
        startedAt = time
        lastActivityAt = time
        stream = RecentHistory(capacity: streamCapacity)
    }

    public var activity: Activity {
        if let exit { return .exited(exit.termination, exit.reason) }
        if isRetiring { return .retiring }
        if !isReady { return .starting }
        return reportedItem != nil || !pending.isEmpty ? .busy : .idle
    }

    public var isAlive: Bool { exit == nil }

    /// How the grid names the process: `host:pid` for a remote worker, the PID for a local one.
    public var label: String { host.map { "\($0):\(pid)" } ?? "\(pid)" }

    /// Items sent to the worker and not yet finished.
    public var itemsInFlight: Int { pending.reduce(0) { $0 + $1.count - $1.finished } }

    /// The item the worker is on and since when: the reported one, else the next of its running
    /// chunk (inferred: tiny items do not report starts, and chunks run in order).
    public var currentItem: (item: ItemRef, since: UInt64)? {
        guard isAlive else { return nil }
        if let reportedItem { return (reportedItem, reportedItemStartedAt) }
        guard isReady, let head = pending.first else { return nil }
        return (ItemRef(job: head.job, index: head.nextItem), lastActivityAt)
    }

    // MARK: folding

    /// A new process took over this slot (after a crash or a retirement).
    mutating func replace(pid: Int32, host: String? = nil, time: UInt64) {
        self.pid = pid
        self.host = host
        startedAt = time
        lastActivityAt = time
        isReady = false
        isRetiring = false
        exit = nil
        reportedItem = nil
        clearAssignments()
        itemsDone = 0
        itemsFailed = 0
        generation += 1
    }

    mutating func ready() { isReady = true }

    mutating func markRetiring() { isRetiring = true }

    mutating func exited(_ termination: WorkerTermination, _ reason: WorkerExitReason, at time: UInt64) {
        exit = (termination, reason, time)
        reportedItem = nil
        clearAssignments()
        if reason == .crashed || reason == .protocolViolation { crashedSinceSample = true }
    }

    mutating func dispatched(job: Int, chunk: Int, start: Int, count: Int, chunks: Int = 1) {
        // The engine keeps at most 1024 chunks in flight per worker: a log claiming more must not
        // make every later event scan a long list.
        if queue.count - head >= 2048 { removeAssignment(at: head) }
        queue.append(Assignment(job: job, chunk: chunk, start: start, count: count, finished: 0, chunks: max(1, chunks)))
    }

    /// Chunks sent to the worker and not finished (a run counts each of its chunks; a run's
    /// finished part is not subtracted).
    public var chunksInFlight: Int { pending.reduce(0) { $0 + $1.chunks } }

    mutating func itemStarted(_ item: ItemRef, at time: UInt64) {
        reportedItem = item
        reportedItemStartedAt = time
        lastActivityAt = time
        jobSinceSample = item.job
    }

    /// A run of items finished (schema 2's `itemsFinished`), within a chunk or across
    /// consecutive ones.
    mutating func itemsFinished(job: Int, start: Int, count: Int, at time: UInt64) {
        itemsDone += count
        if let reported = reportedItem, reported.job == job, reported.index >= start, reported.index < start + count {
            reportedItem = nil
        }
        lastActivityAt = time
        jobSinceSample = job
        // The run may span consecutive chunks of this worker: credit each its part, in order.
        var index = start
        let end = start + max(0, count)
        while index < end, let position = pending.firstIndex(where: {
            $0.job == job && $0.start <= index && index < $0.start + $0.count
        }) {
            let part = min(end, queue[position].start + queue[position].count) - index
            queue[position].finished += part
            index += part
            if queue[position].finished >= queue[position].count { removeAssignment(at: position) }
        }
    }

    mutating func itemFinished(_ item: ItemRef, failed: Bool, at time: UInt64) {
        itemsDone += 1
        if failed { itemsFailed += 1 }
        if reportedItem == item { reportedItem = nil }
        lastActivityAt = time
        jobSinceSample = item.job
        // The finished item is almost always in the running (first) chunk: a short scan.
        if let position = pending.firstIndex(where: {
            $0.job == item.job && $0.start <= item.index && item.index < $0.start + $0.count
        }) {
            queue[position].finished += 1
            if queue[position].finished >= queue[position].count { removeAssignment(at: position) }
        }
    }
}

/// One column of a worker's task stream: what the worker did during one sampling interval.
public enum StreamMark: Sendable, Equatable {
    /// Worked on the job with this id.
    case job(Int)
    /// Alive with nothing to do.
    case idle
    /// Its process crashed (or was killed) during the interval.
    case crashed
    /// No process in the slot (not started yet, or exited).
    case absent
}
