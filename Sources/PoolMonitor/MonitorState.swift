import ProcessPool

/// Everything the monitor shows, folded from ``PoolEvent``s one at a time.
///
/// `apply(_:)` costs O(1) per event (amortised; a `chunksQueued` event sizes per-item tables for
/// the items it queues), so a million-event run folds in linear time and a frame can be drawn
/// from the state at any moment. Time never comes from a clock in here: events carry their
/// times, and ``tick(now:)`` samples the histories when the app says so. That keeps the fold a
/// pure function of its inputs, which is what the fixture and golden tests rely on.
///
/// The state is a value: copying it is how the view freezes while paused (see ``MonitorFeed``).
public struct MonitorState: Sendable {
    /// Says what item `index` (0-based) of a job is, as the tutorial would name it: `sum(5,15)`.
    /// Events carry only job and index, so the app, which knows the inputs, provides this.
    public typealias ItemDescriber = @Sendable (JobDescriptor, Int) -> String

    /// `label[index]`: all that events alone can say about an item.
    public static let defaultDescriber: ItemDescriber = { job, index in "\(job.label)[\(index)]" }

    /// Samples kept for the queue sparkline and each worker's task stream (wider than any screen).
    public static let historyCapacity = 256
    /// Worker output and fault lines kept for the log pane.
    public static let logCapacity = 500
    /// Scheduling events kept for the pool-events pane.
    public static let recentEventCapacity = 200

    // MARK: set by the app

    /// Names items for the worker grid; called only while rendering, for the items on screen.
    public var describer: ItemDescriber
    /// The settings of the run on screen.
    public var settings: MonitorSettings
    /// The settings the next run will use (the keys change these; workers apply at once).
    public var pendingSettings: MonitorSettings
    /// Lines the app computed from the results, such as the tutorial's
    /// `Sum of sums of 'a' and 'b' is 210`; shown once set. The state never invents them.
    public var summaryLines: [String] = []
    /// Set on the copy the screen shows while paused (``MonitorFeed`` sets it).
    public var freeze: Freeze?
    /// What is being watched, when it is not poolmon's own tutorial run (set by the app).
    public var watched: WatchedProgram?
    /// CPU and memory per worker, as the app measured them (it reads `/proc`; the state never does).
    public var resources = ResourceTable()
    /// Per job, how much of the workers' time goes to the items and how much to overhead.
    public private(set) var tuning = ChunkTuning()

    // MARK: folded from events

    /// Worker slots by slot number (nil for a slot never used).
    public private(set) var slots: [WorkerSlot?] = []
    public private(set) var jobs: [JobProgress] = []
    /// Work queued and not yet sent to a worker, as the last event that carried it said.
    public private(set) var queue = QueueDepth(chunks: 0, items: 0)
    /// The worker count the pool aims for (`poolResized`).
    public private(set) var targetWorkers = 0
    public private(set) var phase = RunPhase.waiting
    /// When the pool finished or was terminated.
    public private(set) var finishedAt: UInt64?
    /// The latest event time seen (event times are nanoseconds since the pool started).
    public private(set) var lastEventTime: UInt64 = 0
    /// Events folded so far (``MonitorFeed`` counts the ones a paused view has not shown).
    public private(set) var eventCount = 0
    /// Events the engine dropped because this subscriber fell behind: the state may miss them.
    public private(set) var droppedEvents = 0
    /// Items re-run because their worker died.
    public private(set) var retries = 0
    /// Chunks put back in the queue because their worker died.
    public private(set) var requeuedChunks = 0
    /// `workerFault` events (protocol violations, failed spawns).
    public private(set) var faults = 0
    public private(set) var exitsByReason: [WorkerExitReason: Int] = [:]
    /// Captured worker output and faults, newest last.
    public private(set) var log = RecentHistory<LogLine>(capacity: logCapacity)
    /// The latest scheduling events (workers coming and going, chunks queued and dispatched,
    /// deliveries, job ends): how the pool cuts and hands out work, as it happens. Item starts
    /// and finishes are left out (they are the bulk; the grid and strips show them).
    public private(set) var recentEvents = RecentHistory<PoolEvent>(capacity: recentEventCapacity)
    /// Queue depth in items at each ``tick(now:)``.
    public private(set) var queueHistory = RecentHistory<Int>(capacity: historyCapacity)
    /// The times of the ticks, to say how much time a sample stands for.
    public private(set) var tickTimes = RecentHistory<UInt64>(capacity: historyCapacity)

    /// Which pool of which process this is (`poolCreated`); nil for a log without it (schema 1).
    public private(set) var poolIdentity: PoolIdentity?
    /// The chunk size the pool uses for its next jobs, when a monitor set one (`settingsChanged`).
    public private(set) var liveChunksizeOverride: Int?

    private var slotByPID: [Int32: Int] = [:]
    private var jobPosition: [Int: Int] = [:]
    /// Which label each task-stream letter stands for (so a new job's letter is found in O(1)).
    private var letterOwners: [Character: String] = [:]
    /// Items and chunks left to track one by one (see ``TrackingBudget``).
    private var trackingBudget = TrackingBudget()

    /// Jobs kept; past this, the oldest finished ones are let go (the screen shows the latest
    /// few), so that a log of any number of jobs folds in constant memory per job kept.
    public static let jobCapacity = 1024

    /// - Parameters:
    ///   - settings: the run's settings (the pending ones start equal to them).
    ///   - describer: names items for the screen; the default is `label[index]`.
    public init(settings: MonitorSettings = MonitorSettings(workers: 1),
                describer: @escaping ItemDescriber = MonitorState.defaultDescriber) {
        self.settings = settings
        pendingSettings = settings
        self.describer = describer
    }

    /// A program watched through the monitor channel (`poolmon watch -- CMD`, `poolmon attach`):
    /// what the header and the key bar say about it.
    public struct WatchedProgram: Sendable, Equatable {
        /// The command line, as the header names it.
        public var command: String
        /// Which of the program's pools this is, and how many the monitor knows (`pool 1/2`).
        public var poolNumber: Int
        public var poolCount: Int
        /// Whether the keys act on the pool: false once its connection has closed.
        public var connected: Bool
        /// `attach` (leaving with `q` detaches) rather than `watch -- CMD` (`q` stops CMD).
        public var attached: Bool
        /// How the program ended (`exit 0`, `SIGKILL`), once it has.
        public var exitStatus: String?
        /// The last thing a key did or could not do, in words.
        public var message: String?
        /// The pool's engine as its hello said (`swift`, `cpython`).
        public var engine: String

        public init(command: String, poolNumber: Int = 0, poolCount: Int = 0, connected: Bool = false, attached: Bool = false,
                    exitStatus: String? = nil, message: String? = nil, engine: String = "swift") {
            self.command = command
            self.poolNumber = poolNumber
            self.poolCount = poolCount
            self.connected = connected
            self.attached = attached
            self.exitStatus = exitStatus
            self.message = message
            self.engine = engine
        }
    }

    /// A pool's number within its process, and that process.
    public struct PoolIdentity: Sendable, Equatable {
        public var pool: Int
        public var pid: Int32

        public init(pool: Int, pid: Int32) {
            self.pool = pool
            self.pid = pid
        }
    }

    /// Where the run is.
    public enum RunPhase: String, Sendable, Equatable {
        /// No event yet.
        case waiting
        case running
        /// Closed: no new work, the queued work drains.
        case closing
        case finished
        case terminated
    }

    /// A paused view: the time it froze at and how many events the live state has folded since.
    public struct Freeze: Sendable, Equatable {
        public var at: UInt64
        public var eventsBehind: Int
        /// Set once the view was stepped back or forth (see ``MonitorFeed/rewind(to:)``): how far
        /// behind the live run it is, in nanoseconds of event time (the header's `REWOUND −3.2 s`).
        public var rewoundBy: UInt64?
        /// The event the view stands at (events folded, counting from the run's first), once stepped.
        public var position: Int?

        public init(at: UInt64, eventsBehind: Int, rewoundBy: UInt64? = nil, position: Int? = nil) {
            self.at = at
            self.eventsBehind = eventsBehind
            self.rewoundBy = rewoundBy
            self.position = position
        }
    }

    /// A line for the log pane.
    public struct LogLine: Sendable, Equatable {
        public var time: UInt64
        public var pid: Int32
        public var text: String
        /// A `workerFault` (the engine's complaint) rather than the worker's own output.
        public var isFault: Bool

        public init(time: UInt64, pid: Int32, text: String, isFault: Bool) {
            self.time = time
            self.pid = pid
            self.text = text
            self.isFault = isFault
        }
    }

    // MARK: queries

    /// The slots in use, in slot order.
    public var workers: [WorkerSlot] { slots.compactMap { $0 } }

    /// Workers whose process is alive.
    public var liveWorkerCount: Int { slots.reduce(0) { $0 + ($1?.isAlive == true ? 1 : 0) } }

    public func job(id: Int) -> JobProgress? { jobPosition[id].map { jobs[$0] } }

    /// The worker whose process is `pid` now (nil once its slot holds a replacement).
    public func worker(pid: Int32) -> WorkerSlot? {
        guard let slot = slotByPID[pid], let worker = slots[slot], worker.pid == pid else { return nil }
        return worker
    }

    /// The item as the app names it (`sum(5,15)`), or `job 3[4]` for a job never announced.
    public func describe(_ item: WorkerSlot.ItemRef) -> String {
        guard let job = job(id: item.job) else { return "job \(item.job)[\(item.index)]" }
        return describer(job.descriptor, item.index)
    }

    /// Whether the next run differs from this one in anything but the (live) worker count.
    public var hasPendingChanges: Bool {
        pendingSettings.chunksize != settings.chunksize || pendingSettings.mode != settings.mode
            || hasPendingWorkers
    }

    /// Whether the run is over (finished or terminated): `+`/`-` then change the next run only.
    public var isOver: Bool { phase == .finished || phase == .terminated }

    /// Whether the next run will start a different number of workers than this one ended with
    /// (set by `+`/`-` once the run is over, when there is no pool left to resize).
    public var hasPendingWorkers: Bool { isOver && pendingSettings.workers != settings.workers }

    /// The chunk size this run uses, and whether the pool chose it: the latest job's, else the
    /// settings' (nil when automatic and no job says yet).
    public var effectiveChunksize: (size: Int, automatic: Bool)? {
        if let job = jobs.last { return (job.chunksize, job.descriptor.chunksizeIsAutomatic && job.recuts == 0) }
        if case .fixed(let size) = settings.chunksize { return (size, false) }
        return nil
    }

    /// `now` as this state should be drawn at: frozen while paused, never before the last event
    /// (the app's clock and the pool's may disagree by a little).
    public func displayTime(_ now: UInt64) -> UInt64 { max(freeze?.at ?? now, lastEventTime) }

    /// How long the run has taken: to its end once finished, else to `now`.
    public func elapsed(now: UInt64) -> UInt64 { finishedAt ?? displayTime(now) }

    // MARK: folding

    /// Folds one event into the state.
    public mutating func apply(_ event: PoolEvent) {
        let time = event.time
        eventCount += 1
        lastEventTime = max(lastEventTime, time)
        if Self.isScheduling(event.kind) { recentEvents.append(event) }
        switch event.kind {
        case .workerStarted(let slot, let pid, let host):
            guard slot >= 0 else { break }
            if slot >= slots.count { slots.append(contentsOf: repeatElement(nil, count: slot + 1 - slots.count)) }
            if slots[slot] == nil {
                slots[slot] = WorkerSlot(slot: slot, pid: pid, host: host, time: time, streamCapacity: Self.historyCapacity)
            } else {
                slotByPID[slots[slot]!.pid] = nil
                slots[slot]!.replace(pid: pid, host: host, time: time)
            }
            slotByPID[pid] = slot
            startRunning()
        case .workerReady(_, let pid):
            withWorker(pid) { $0.ready() }
        case .workerExited(let slot, let pid, let termination, let reason, _):
            exitsByReason[reason, default: 0] += 1
            tuning.workerGone(pid)
            // A stale exit (the slot already holds a newer process) changes only the counters.
            if slot >= 0, slot < slots.count, slots[slot]?.pid == pid {
                slots[slot]!.exited(termination, reason, at: time)
            }
        case .jobSubmitted(let descriptor):
            let letter = letter(for: descriptor.label)
            letterOwners[letter] = descriptor.label
            if let position = jobPosition[descriptor.id] {
                trackingBudget.items += jobs[position].trackedCapacity.items
                trackingBudget.chunks += jobs[position].trackedCapacity.chunks
                jobs[position] = JobProgress(descriptor: descriptor, letter: letter, time: time)
            } else {
                if jobs.count >= Self.jobCapacity { letGoOfOldJobs() }
                jobPosition[descriptor.id] = jobs.count
                jobs.append(JobProgress(descriptor: descriptor, letter: letter, time: time))
            }
            startRunning()
        case .chunksQueued(let job, let firstChunk, let chunks, let start, let count, let depth):
            queue = depth
            withJob(job) { $0.chunksQueued(firstChunk: firstChunk, chunks: chunks, start: start, count: count) }
        case .chunksRecut(let job, let chunksize, let firstChunk, let chunks, let start, let count, let depth):
            queue = depth
            withJob(job) { $0.chunksRecut(chunksize: chunksize, firstChunk: firstChunk, chunks: chunks, start: start, count: count) }
        case .chunkRequeued(let job, _, _, let count, let depth):
            queue = depth
            requeuedChunks += 1
            withJob(job) { $0.chunkRequeued(count: count) }
        case .chunkDispatched(let job, let chunk, let start, let count, let pid, let depth):
            queue = depth
            withJob(job) { $0.chunkDispatched(count: count) }
            withWorker(pid) { $0.dispatched(job: job, chunk: chunk, start: start, count: count) }
        case .chunksDispatched(let job, let firstChunk, let chunks, let start, let count, let pid, let depth):
            // One entry for the whole run, whatever its length: O(1), like the event.
            queue = depth
            withJob(job) { $0.chunkDispatched(count: count) }
            withWorker(pid) { $0.dispatched(job: job, chunk: firstChunk, start: start, count: count, chunks: chunks) }
        case .itemStarted(let job, let index, let pid):
            withWorker(pid) { $0.itemStarted(WorkerSlot.ItemRef(job: job, index: index), at: time) }
        case .itemFinished(let job, let index, let pid, let error, let nanoseconds):
            var budget = trackingBudget
            withJob(job) { $0.itemFinished(index, error: error, budget: &budget) }
            trackingBudget = budget
            withWorker(pid) { $0.itemFinished(WorkerSlot.ItemRef(job: job, index: index), failed: error != nil, at: time) }
            tuning.finished(job: job, count: 1, pid: pid, own: nanoseconds, at: time)
        case .itemsFinished(let job, let start, let count, let pid, let nanoseconds):
            guard count > 0 else { break }
            var budget = trackingBudget
            withJob(job) { $0.itemsFinished(start: start, count: count, budget: &budget) }
            trackingBudget = budget
            withWorker(pid) { $0.itemsFinished(job: job, start: start, count: count, at: time) }
            tuning.finished(job: job, count: count, pid: pid, own: nanoseconds, at: time)
        case .jobProgress(let job, let finished, let failed, let delivered, let chunksDone):
            withJob(job) { $0.progressBeforeJoining(finished: finished, failed: failed, delivered: delivered, chunksDone: chunksDone) }
        case .poolCreated(let pool, let pid, _):
            poolIdentity = PoolIdentity(pool: pool, pid: pid)
        case .settingsChanged(let chunksize):
            liveChunksizeOverride = chunksize
        case .itemRetried(let job, _, _, _):
            retries += 1
            withJob(job) { $0.itemRetried() }
        case .resultsDelivered(let job, let start, let count):
            withJob(job) { $0.resultsDelivered(start: start, count: count) }
        case .jobCompleted(let job, let error):
            withJob(job) { $0.completed(at: time, error: error) }
        case .jobCancelled(let job):
            withJob(job) { $0.completed(at: time, error: "cancelled") }
        case .poolResized(let from, let to):
            targetWorkers = to
            if to < from { inferRetirements(target: to) }
        case .poolStateChanged(let state):
            switch state {
            case .running: phase = .running
            case .closed: phase = .closing
            case .terminated:
                phase = .terminated
                finishedAt = time
            case .finished:
                // A terminated pool also ends as finished; keep saying how it ended.
                if phase != .terminated { phase = .finished }
                finishedAt = finishedAt ?? time
            }
        case .workerOutput(let pid, let line):
            log.append(LogLine(time: time, pid: pid, text: line, isFault: false))
        case .workerFault(let pid, let message):
            faults += 1
            log.append(LogLine(time: time, pid: pid, text: message, isFault: true))
        case .eventsDropped(let count):
            droppedEvents += count
        }
    }

    /// Folds events in order.
    public mutating func apply(contentsOf events: some Sequence<PoolEvent>) {
        for event in events { apply(event) }
    }

    /// Folds recorded events as if they were arriving live, ticking every `interval` nanoseconds
    /// of event time: what a replay of an event log, and the tests, do.
    public mutating func replay(_ events: some Sequence<PoolEvent>, tickEvery interval: UInt64) {
        let interval = max(1, interval)
        for event in events {
            var next = ((tickTimes.last ?? 0) / interval + 1) * interval
            while event.time >= next {
                tick(now: next)
                next += interval
            }
            apply(event)
        }
    }

    /// Takes one sample of the histories (queue sparkline, task streams). The app calls this on
    /// its own clock (say 10 times a second); `now` is in event time (nanoseconds since the
    /// pool started). Costs O(workers).
    public mutating func tick(now: UInt64) {
        queueHistory.append(queue.items)
        tickTimes.append(now)
        for position in slots.indices where slots[position] != nil {
            slots[position]!.stream.append(mark(for: slots[position]!))
            slots[position]!.jobSinceSample = nil
            slots[position]!.crashedSinceSample = false
        }
    }

    /// Nanoseconds one tick stands for, from the recent tick times (nil before two ticks).
    public var tickInterval: UInt64? {
        let count = min(tickTimes.count, 16)
        guard count >= 2, let last = tickTimes.last else { return nil }
        let first = tickTimes[tickTimes.count - count]
        return last > first ? (last - first) / UInt64(count - 1) : nil
    }

    // MARK: commands

    /// Carries out the setting commands on ``settings`` and ``pendingSettings``: chunk size and
    /// mode change the next run; the worker count changes both (it is live) and never goes
    /// below 1. Returns false for other commands. The app still resizes the pool to
    /// `settings.workers` after `.addWorker`/`.removeWorker`, and its `poolResized` event
    /// confirms the change on screen.
    public mutating func handle(_ command: MonitorCommand) -> Bool {
        let effective = effectiveChunksize?.size ?? 1
        switch command {
        case .chunkUp: pendingSettings.chunkUp(effective: effective)
        case .chunkDown: pendingSettings.chunkDown(effective: effective)
        case .cycleMode: pendingSettings.cycleMode()
        case .addWorker where isOver, .removeWorker where isOver:
            // No pool to resize: the presses add up for the next run, which `r` starts.
            pendingSettings.workers = max(1, pendingSettings.workers + (command == .addWorker ? 1 : -1))
        case .addWorker, .removeWorker:
            let current = targetWorkers > 0 ? targetWorkers : settings.workers
            let workers = max(1, current + (command == .addWorker ? 1 : -1))
            settings.workers = workers
            pendingSettings.workers = workers
        default: return false
        }
        return true
    }

    /// A fresh state for the next run (after `r`): the pending settings become the run's, and
    /// the describer carries over.
    public func nextRun() -> MonitorState {
        MonitorState(settings: pendingSettings, describer: describer)
    }

    // MARK: private

    private func mark(for worker: WorkerSlot) -> StreamMark {
        if worker.crashedSinceSample { return .crashed }
        if let job = worker.currentItem?.item.job ?? worker.jobSinceSample { return .job(job) }
        if !worker.isAlive || !worker.isReady { return .absent }
        return .idle
    }

    private static func isScheduling(_ kind: PoolEvent.Kind) -> Bool {
        switch kind {
        case .workerReady, .itemStarted, .itemFinished, .itemsFinished, .workerOutput, .workerFault: false
        default: true
        }
    }

    private mutating func startRunning() {
        if phase == .waiting { phase = .running }
    }

    private mutating func withWorker(_ pid: Int32, _ body: (inout WorkerSlot) -> Void) {
        guard let slot = slotByPID[pid], slots[slot]?.pid == pid else { return }
        body(&slots[slot]!)
    }

    private mutating func withJob(_ id: Int, _ body: (inout JobProgress) -> Void) {
        guard let position = jobPosition[id] else { return }
        body(&jobs[position])
    }

    /// Mirrors the engine's choice when it shrinks (idle workers first, then the highest
    /// slots), since no event names the workers it retires; their exit confirms it.
    private mutating func inferRetirements(target: Int) {
        let candidates = slots.compactMap { $0 }.filter { $0.isAlive && !$0.isRetiring }
        let surplus = candidates.count - target
        guard surplus > 0 else { return }
        let victims = candidates.sorted { a, b in
            if a.assignments.isEmpty != b.assignments.isEmpty { return a.assignments.isEmpty }
            return a.slot > b.slot
        }.prefix(surplus)
        for victim in victims { slots[victim.slot]!.markRetiring() }
    }

    /// Drops the older half of the jobs, finished ones first (a running job is kept whatever
    /// its age): O(jobs) once per ``jobCapacity``/2 submissions, so O(1) per job.
    private mutating func letGoOfOldJobs() {
        var dropping = jobs.count / 2
        var kept: [JobProgress] = []
        kept.reserveCapacity(jobs.count)
        for job in jobs {
            if dropping > 0 && job.isComplete {
                dropping -= 1
                trackingBudget.items += job.trackedCapacity.items
                trackingBudget.chunks += job.trackedCapacity.chunks
                tuning.forget(job: job.id)
            } else {
                kept.append(job)
            }
        }
        jobs = kept
        jobPosition = Dictionary(uniqueKeysWithValues: jobs.enumerated().map { ($1.id, $0) })
        letterOwners = Dictionary(jobs.map { ($0.letter, $0.label) }, uniquingKeysWith: { _, last in last })
    }

    /// Where job `id` is in ``jobs`` (O(1)), for the painter's colours.
    public func position(ofJob id: Int) -> Int? { jobPosition[id] }

    /// A letter for the task stream: the label's first letter, or another of its letters (or an
    /// uppercase or a digit) when a job with a different label already has it.
    private func letter(for label: String) -> Character {
        let taken = letterOwners
        let letters = label.lowercased().filter { $0.isLetter || $0.isNumber }
        let candidates = Array(letters) + Array(letters.prefix(1).uppercased()) + Array("abcdefghijklmnopqrstuvwxyz0123456789")
        for candidate in candidates where taken[candidate] == nil || taken[candidate] == label {
            return candidate
        }
        return "?"
    }
}
