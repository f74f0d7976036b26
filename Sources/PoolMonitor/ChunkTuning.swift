/// How well each job's chunk size pays for itself, measured from the events: the items' own
/// time (what the tasks report) against the time the workers spent between items on dispatch
/// and result handling, and the chunk size that would keep that overhead small.
///
/// Between two finishes of the same job on the same worker, the worker was either running the
/// second item (its own time, which the event carries) or doing the pool's work around it
/// (reading its chunk, sending results back, waiting for the next chunk): that rest is the
/// overhead. A worker's first item after another job's, or after starting, is not counted
/// (the gap may be idle time). O(1) per event; memory per job and per worker.
public struct ChunkTuning: Sendable {
    /// One job's measurement.
    public struct Gauge: Sendable, Equatable {
        /// The items' own time, in nanoseconds, for the measured items.
        public var ownNanoseconds: UInt64 = 0
        /// Worker time around those items (dispatch, results), in nanoseconds.
        public var overheadNanoseconds: UInt64 = 0
        /// Items measured.
        public var items = 0

        /// Share of the workers' time that went to the items themselves, 0…1 (nil before any).
        public var efficiency: Double? {
            let total = ownNanoseconds &+ overheadNanoseconds
            return items == 0 || total == 0 ? nil : Double(ownNanoseconds) / Double(total)
        }
    }

    /// The overhead share a suggested chunk size aims to stay under.
    public static let targetOverhead = 0.05

    private var gauges: [Int: Gauge] = [:]
    /// Per worker PID: the job and time of its latest finish.
    private var lastFinish: [Int32: LastFinish] = [:]

    private struct LastFinish: Sendable {
        var job: Int
        var time: UInt64
    }

    public init() {}

    public func gauge(ofJob job: Int) -> Gauge? { gauges[job] }

    /// Folds a finish of `count` items of `job` on `pid` at `time`, which took `own` nanoseconds.
    mutating func finished(job: Int, count: Int, pid: Int32, own: UInt64, at time: UInt64) {
        defer { lastFinish[pid] = LastFinish(job: job, time: time) }
        guard count > 0, let last = lastFinish[pid], last.job == job, time >= last.time else { return }
        let span = time - last.time
        var gauge = gauges[job] ?? Gauge()
        gauge.ownNanoseconds &+= min(own, span)
        gauge.overheadNanoseconds &+= span - min(own, span)
        gauge.items += count
        gauges[job] = gauge
    }

    /// Forgets a worker that has exited (its PID may come back as another process).
    mutating func workerGone(_ pid: Int32) { lastFinish[pid] = nil }

    /// Drops a job let go of by the state.
    mutating func forget(job: Int) { gauges[job] = nil }

    /// The chunk size that would bring the overhead under ``targetOverhead`` for a job cut in
    /// `chunks` chunks so far (of which `chunksDone` are done) at `chunksize`, over `items`
    /// items and `workers` workers: the measured overhead is taken as a cost per chunk, and
    /// chunks are kept small enough that every worker gets about four (Python's own bound), so
    /// that the end of the job stays balanced. Nil while too little is known.
    public func suggestedChunksize(ofJob job: Int, chunksize: Int, chunksDone: Int, items: Int, workers: Int) -> Int? {
        guard let gauge = gauges[job], gauge.items >= 4, chunksDone >= 2, gauge.ownNanoseconds > 0 else { return nil }
        let perChunk = Double(gauge.overheadNanoseconds) / Double(chunksDone)
        let perItem = Double(gauge.ownNanoseconds) / Double(gauge.items)
        let needed = perChunk * (1 - Self.targetOverhead) / (Self.targetOverhead * perItem)
        let balanced = max(1, items / max(1, 4 * max(1, workers)))
        // Overhead already under the target: smaller chunks only if these are too big to balance.
        if let efficiency = gauge.efficiency, efficiency >= 1 - Self.targetOverhead { return min(chunksize, balanced) }
        guard needed.isFinite else { return balanced }
        return min(balanced, max(1, Int(needed.rounded(.up))))
    }
}
