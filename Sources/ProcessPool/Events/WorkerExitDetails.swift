/// What the engine knew about a worker when it was reaped: the death report carried by
/// ``PoolEvent/Kind/workerExited(slot:pid:termination:reason:details:)`` (schema 3).
///
/// Everything here is bounded (``maxOutputLines`` lines of at most ``maxLineLength`` characters,
/// at most ``maxRequeued`` requeued chunks), so an exit event stays one short line whatever the
/// worker did, and a log that claims more is cut to these bounds when read.
public struct WorkerExitDetails: Sendable, Equatable {
    /// Output lines kept per worker for its death report.
    public static let maxOutputLines = 5
    /// Characters kept per output line.
    public static let maxLineLength = 200
    /// Requeued chunks named in one report (a worker holds its running chunk and a few prefetched).
    public static let maxRequeued = 16

    /// A chunk (or the unfinished rest of one) that went back to the queue when the worker died.
    public struct Requeued: Sendable, Equatable {
        public var job: Int
        public var chunk: Int
        public var start: Int
        public var count: Int

        public init(job: Int, chunk: Int, start: Int, count: Int) {
            self.job = job
            self.chunk = chunk
            self.start = start
            self.count = count
        }
    }

    /// Nanoseconds from spawn to reaping.
    public var lifetime: UInt64
    /// The process's peak resident set in KiB, from the reaping call's `rusage.ru_maxrss`
    /// (nil when the platform did not say). `/proc` is no use here: a zombie has no memory map.
    public var peakRSSKilobytes: Int?
    /// The kernel's OOM killer chose it: its SIGKILL came with a rise in the pool's cgroup
    /// `memory.events` `oom_kill` count (false when that file is not readable).
    public var oomKilled: Bool
    /// The item it was on (the first unfinished item of its oldest chunk), if it held work.
    public var job: Int?
    public var index: Int?
    /// Its last output lines, oldest first (only when output is captured).
    public var lastOutput: [String]
    /// What went back to the queue because it died.
    public var requeued: [Requeued]

    public init(lifetime: UInt64, peakRSSKilobytes: Int? = nil, oomKilled: Bool = false, job: Int? = nil, index: Int? = nil,
                lastOutput: [String] = [], requeued: [Requeued] = []) {
        self.lifetime = lifetime
        self.peakRSSKilobytes = peakRSSKilobytes
        self.oomKilled = oomKilled
        self.job = job
        self.index = index
        self.lastOutput = Array(lastOutput.suffix(Self.maxOutputLines)).map { String($0.prefix(Self.maxLineLength)) }
        self.requeued = Array(requeued.prefix(Self.maxRequeued))
    }
}
