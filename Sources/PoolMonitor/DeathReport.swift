import ProcessPool

/// Why a worker died and what it took with it, from its `workerExited` event (schema 3 carries
/// the engine's report; for older logs what the events around it say is used instead).
public struct DeathReport: Sendable, Equatable {
    public var pid: Int32
    public var slot: Int
    /// When it was reaped (event time).
    public var time: UInt64
    public var termination: WorkerTermination
    public var reason: WorkerExitReason
    /// How long it lived, its peak RSS in KiB, and whether the OOM killer took it, when known.
    public var lifetime: UInt64?
    public var peakRSSKilobytes: Int?
    public var oomKilled: Bool
    /// The item it was on.
    public var item: WorkerSlot.ItemRef?
    public var lastOutput: [String]
    public var requeued: [WorkerExitDetails.Requeued]

    /// Scheduling events looked through, at most, to find a death (a frame must stay cheap).
    static let searchLimit = 4096

    /// `SIGKILL (OOM kill)`, `exit 3`, `SIGTERM · timed out`: why, in a few words.
    public var cause: String {
        var words = termination.description
        if oomKilled { words += " (OOM kill)" }
        switch reason {
        case .crashed: break
        case .timedOut: words += " · timed out"
        case .protocolViolation: words += " · protocol violation"
        case .initializerFailed: words += " · initializer failed"
        default: words += " · \(reason.rawValue)"
        }
        return words
    }

    /// Whether an exit with this reason is a death (the pool did not ask for it).
    static func isDeath(_ reason: WorkerExitReason) -> Bool {
        switch reason {
        case .crashed, .protocolViolation, .initializerFailed, .timedOut: true
        case .retired, .maxTasksReached, .poolClosed, .terminated: false
        }
    }

    /// The latest death in `slot` before `position`, looking back a bounded way.
    public static func latest(inSlot slot: Int, store: EventStore, before position: Int, state: MonitorState) -> DeathReport? {
        var n = store.schedulingCount(before: position) - 1
        let stop = max(0, n - searchLimit)
        while n >= stop {
            if let (index, event) = store.schedulingEvent(n),
               case .workerExited(let exitSlot, _, _, let reason, _) = event.kind, exitSlot == slot, isDeath(reason) {
                return make(at: index, store: store)
            }
            n -= 1
        }
        return nil
    }

    /// The report of the `workerExited` event at `index` (nil if that is not one).
    public static func make(at index: Int, store: EventStore) -> DeathReport? {
        guard let event = store.event(at: index),
              case .workerExited(let slot, let pid, let termination, let reason, let details) = event.kind else { return nil }
        var report = DeathReport(pid: pid, slot: slot, time: event.time, termination: termination, reason: reason,
                                 lifetime: details?.lifetime, peakRSSKilobytes: details?.peakRSSKilobytes,
                                 oomKilled: details?.oomKilled ?? false, item: nil, lastOutput: details?.lastOutput ?? [],
                                 requeued: details?.requeued ?? [])
        if let job = details?.job, let item = details?.index { report.item = WorkerSlot.ItemRef(job: job, index: item) }
        if details == nil { report.inferFromEvents(before: index, store: store) }
        return report
    }

    /// A log without reports (schemas 1 and 2): the requeued chunks are the `chunkRequeued`
    /// events just before the exit, the item the first of them, the lines the worker's last.
    private mutating func inferFromEvents(before index: Int, store: EventStore) {
        // The engine emits a dead worker's re-runs and requeued chunks right before its exit.
        var n = store.schedulingCount(before: index) - 1
        var retried: WorkerSlot.ItemRef?
        scan: while n >= 0, let (_, event) = store.schedulingEvent(n) {
            switch event.kind {
            case .chunkRequeued(let job, let chunk, let start, let count, _):
                requeued.insert(WorkerExitDetails.Requeued(job: job, chunk: chunk, start: start, count: count), at: 0)
            case .itemRetried(let job, let item, _, let dead) where dead == pid:
                retried = WorkerSlot.ItemRef(job: job, index: item)
            default:
                break scan
            }
            n -= 1
        }
        item = retried ?? requeued.first.map { WorkerSlot.ItemRef(job: $0.job, index: $0.start) }
        var lines: [String] = []
        var m = store.outputCount(before: index) - 1
        let stop = max(0, m - Self.searchLimit)
        while m >= stop, lines.count < WorkerExitDetails.maxOutputLines, let (_, event) = store.outputEvent(m) {
            if case .workerOutput(let linePID, let line) = event.kind, linePID == pid { lines.insert(line, at: 0) }
            m -= 1
        }
        lastOutput = lines
        var s = store.schedulingCount(before: index) - 1
        let sStop = max(0, s - Self.searchLimit)
        while s >= sStop, let (_, event) = store.schedulingEvent(s) {
            if case .workerStarted(_, let started, _) = event.kind, started == pid {
                lifetime = time &- min(time, event.time)
                break
            }
            s -= 1
        }
    }
}
