import ProcessPool

/// Everything the run's events say about one item: the inspector's content (`Enter`).
///
/// Built by one pass over the store from the job's submission to the position shown (at most
/// ``scanLimit`` events, so that opening it on a huge log stays bounded).
public struct ItemReport: Sendable, Equatable {
    /// One run of the item on a worker.
    public struct Attempt: Sendable, Equatable {
        public var pid: Int32
        /// When its chunk was handed to the worker, and when the item began (when reported).
        public var dispatchedAt: UInt64
        public var startedAt: UInt64?
        public var duration: UInt64?
        /// `ok`, `failed: …`, `worker died: SIGKILL`, `running`, `waiting in its chunk`.
        public var outcome: String
        /// The worker's output lines while it ran (at most ``maxOutput``).
        public var output: [String] = []
    }

    /// Output lines kept per attempt.
    public static let maxOutput = 4
    /// Events looked at, at most.
    public static let scanLimit = 2_000_000

    public var job: Int
    public var index: Int
    public var label: String
    public var mode: JobMode?
    /// The call as the tutorial writes it: `sum(5,15)`.
    public var call: String
    public var attempts: [Attempt] = []
    /// When its result reached the caller, and why then.
    public var deliveredAt: UInt64?
    public var deliveryReason: String?

    /// The report of item `index` of job `job` as of `position` (events folded).
    public static func make(job: Int, index: Int, store: EventStore, position: Int, state: MonitorState) -> ItemReport {
        let descriptor = state.job(id: job)?.descriptor
        var report = ItemReport(job: job, index: index, label: descriptor?.label ?? "job \(job)", mode: descriptor?.mode,
                                call: state.describe(WorkerSlot.ItemRef(job: job, index: index)))
        // Start at the job's submission (found among the scheduling events, looking back a bounded way).
        var start = store.firstIndex
        var n = store.schedulingCount(before: position) - 1
        let stop = max(0, n - 100_000)
        while n >= stop, let (at, event) = store.schedulingEvent(n) {
            if case .jobSubmitted(let submitted) = event.kind, submitted.id == job { start = at; break }
            n -= 1
        }
        var open: Int?  // the attempt under way
        var lastFinished: Int?  // the job's latest finished item, for imap's "when item k finished"
        var chunkOfItem: Range<Int>?
        var chunksize = 1
        store.forEach(in: start..<min(position, start + scanLimit)) { _, event in
            let time = event.time
            if case .jobSubmitted(let submitted) = event.kind, submitted.id == job { chunksize = max(1, submitted.chunksize) }
            // A single chunk, or a run of consecutive chunks (each the job's chunk size but the last).
            let run = event.kind.dispatchedChunks.flatMap { $0.job == job && ($0.start..<$0.start + $0.count).contains(index) ? $0 : nil }
            switch event.kind {
            case _ where run != nil:
                guard let run else { break }
                report.attempts.append(Attempt(pid: run.pid, dispatchedAt: time, outcome: "waiting in its chunk"))
                open = report.attempts.count - 1
                if run.chunks == 1 {
                    chunkOfItem = run.start..<(run.start + run.count)
                } else {
                    let first = run.start + (index - run.start) / chunksize * chunksize
                    chunkOfItem = first..<min(first + chunksize, run.start + run.count)
                }
            case .itemStarted(let j, let i, let pid) where j == job:
                if i == index, let o = open, report.attempts[o].pid == pid {
                    report.attempts[o].startedAt = time
                    report.attempts[o].outcome = "running"
                    report.attempts[o].output = []
                } else if let o = open, report.attempts[o].pid == pid {
                    report.attempts[o].output = []  // an earlier item of its chunk: its lines are not ours
                }
            case .itemFinished(let j, let i, let pid, let error, let ns) where j == job:
                lastFinished = i
                guard let o = open, report.attempts[o].pid == pid else { break }
                if i == index {
                    report.attempts[o].duration = ns
                    if report.attempts[o].startedAt == nil { report.attempts[o].startedAt = time &- min(time, ns) }
                    report.attempts[o].outcome = error.map { "failed: \($0)" } ?? "ok"
                    open = nil
                } else {
                    report.attempts[o].output = []
                }
            case .itemsFinished(let j, let first, let count, let pid, let ns) where j == job && count > 0:
                lastFinished = first + count - 1
                guard let o = open, report.attempts[o].pid == pid else { break }
                if (first..<first + count).contains(index) {
                    report.attempts[o].duration = ns / UInt64(count)
                    report.attempts[o].outcome = "ok (one of \(count) short items reported together)"
                    open = nil
                } else {
                    report.attempts[o].output = []
                }
            case .workerExited(_, let pid, let termination, _, _):
                if let o = open, report.attempts[o].pid == pid {
                    report.attempts[o].outcome = "worker died: \(termination)"
                    open = nil
                }
            case .workerOutput(let pid, let line):
                if let o = open, report.attempts[o].pid == pid, report.attempts[o].output.count < maxOutput {
                    report.attempts[o].output.append(line)
                }
            case .resultsDelivered(let j, let first, let count) where j == job && report.deliveredAt == nil:
                guard (first..<first + count).contains(index) else { break }
                report.deliveredAt = time
                report.deliveryReason = reason(mode: descriptor?.mode, index: index, delivered: first..<first + count,
                                               lastFinished: lastFinished, chunk: chunkOfItem, state: state, job: job)
            default: break
            }
            return true
        }
        return report
    }

    private static func reason(mode: JobMode?, index: Int, delivered: Range<Int>, lastFinished: Int?,
                               chunk: Range<Int>?, state: MonitorState, job: Int) -> String {
        func name(_ i: Int) -> String { "item \(i + 1) (\(state.describe(WorkerSlot.ItemRef(job: job, index: i))))" }
        switch mode {
        case .imap:
            guard let k = lastFinished, k != index else {
                return "imap: as soon as it finished, every item before it being done"
            }
            return "imap: when \(name(k)) before it finished (results go out in input order)"
        case .imapUnordered:
            let items = chunk.map { TextFormat.items($0) } ?? TextFormat.items(delivered)
            return "imap_unordered: with its chunk (items \(items)), as soon as that chunk finished"
        case .map, .starmap, .apply, nil:
            return "\(mode?.rawValue ?? "map_async"): with all the rest at the end (items \(TextFormat.items(delivered)) at once)"
        }
    }
}
