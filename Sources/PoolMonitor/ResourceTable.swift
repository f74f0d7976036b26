/// What each worker process uses (CPU and memory), as the app measured it: the monitor stays
/// pure, so the app reads `/proc` (or whatever a launcher can report) and hands the numbers
/// over with ``record(_:at:)``; the grid and the header draw from here.
///
/// Kept per PID, for the workers alive now: a sample replaces the table, so the memory it takes
/// is bounded by the number of workers, however long the session.
public struct ResourceTable: Sendable, Equatable {
    /// One process's measurement.
    public struct Sample: Sendable, Equatable {
        public var pid: Int32
        /// CPU time used since the previous sample, as a share of one CPU (100 = one core busy).
        public var cpuPercent: Double
        /// Resident memory.
        public var residentBytes: Int
        /// Stopped by a signal (SIGSTOP, Ctrl-Z): its task waits.
        public var stopped: Bool

        public init(pid: Int32, cpuPercent: Double, residentBytes: Int, stopped: Bool = false) {
            self.pid = pid
            self.cpuPercent = cpuPercent
            self.residentBytes = residentBytes
            self.stopped = stopped
        }
    }

    /// The latest sample of a process, with its recent CPU trend.
    public struct Usage: Sendable, Equatable {
        public var cpuPercent: Double
        public var residentBytes: Int
        public var stopped: Bool
        /// CPU% of the last few samples, oldest first (the grid's trend column).
        public var cpuTrend: [Double]
    }

    /// Samples of CPU% kept per worker for its trend.
    public static let trendLength = 6

    private var usages: [Int32: Usage] = [:]
    /// When the latest samples were taken (event time), nil before any.
    public private(set) var sampledAt: UInt64?

    public init() {}

    /// Whether any sample has been recorded (the grid shows CPU and RSS columns only then).
    public var hasSamples: Bool { !usages.isEmpty }

    public func usage(of pid: Int32) -> Usage? { usages[pid] }

    /// Pool totals: CPU% summed over the workers (200 = two cores busy) and resident memory.
    public var totals: (cpuPercent: Double, residentBytes: Int) {
        usages.values.reduce((0, 0)) { ($0.0 + $1.cpuPercent, $0.1 + $1.residentBytes) }
    }

    /// Records one round of samples taken at `time`; processes absent from it are let go.
    /// Values are clamped (a sample is the app's reading of the system, never trusted to be sane).
    public mutating func record(_ samples: [Sample], at time: UInt64) {
        var next: [Int32: Usage] = [:]
        next.reserveCapacity(samples.count)
        for sample in samples {
            let cpu = sample.cpuPercent.isFinite ? min(max(0, sample.cpuPercent), 100_000) : 0
            var trend = usages[sample.pid]?.cpuTrend ?? []
            trend.append(cpu)
            if trend.count > Self.trendLength { trend.removeFirst(trend.count - Self.trendLength) }
            next[sample.pid] = Usage(cpuPercent: cpu, residentBytes: max(0, sample.residentBytes),
                                     stopped: sample.stopped, cpuTrend: trend)
        }
        usages = next
        sampledAt = time
    }
}
