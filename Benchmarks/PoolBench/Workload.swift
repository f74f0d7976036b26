/// One row of the benchmark table: what is measured on our side and on the reference side, and
/// which field of their result lines is compared.
struct Workload: Sendable {
    enum Unit: String, Sendable {
        case tasksPerSecond = "tasks/s"
        case seconds = "s"
        case megabytes = "MB"
        case milliseconds = "ms"

        /// Throughput is better high; time and memory are better low.
        var higherIsBetter: Bool { self == .tasksPerSecond }
    }

    /// How one side of a row is measured.
    enum Probe: Hashable, Sendable {
        /// `poolmon-bench measure NAME` in a fresh process.
        case ours(String)
        /// `python3 pool_bench.py NAME` in a fresh process.
        case python(String)
        /// The whole `poolmon run --quiet --delay 0` process, timed from spawn to reap.
        case poolmonTutorial
        /// The whole `python3 asyncmap_py3.py 0` process, timed from spawn to reap.
        case pythonTutorial
        /// `Benchmarks/C/pipe_limit.c`: a bare C pool over the same pipes, `chunk` items per task
        /// frame (nil: the default chunk size of `map_async`).
        case pipeLimit(chunk: Int?)
    }

    let name: String
    let unit: Unit
    let fullItems: Int
    let smokeItems: Int
    let ours: Probe
    let reference: Probe
    /// What the reference side is called in the table (CPython, or our own pool unwatched).
    let referenceName: String
    /// The key of the reference value on the machine-readable line.
    let referenceKey: String
    /// The result field compared.
    let field: String
    /// Result fields shown beside the medians.
    let detailFields: [String]
    /// What the pipes allow for this workload, if it has such a bound (throughput rows).
    let limit: Probe?
    /// When the reference is measured in the same process as ours (`reference` is then the
    /// same probe, run once a round): the prefix of its fields in that probe's result line
    /// (`unwatched_value`, `unwatched_seconds`).
    let referencePrefix: String?

    init(_ name: String, _ unit: Unit, items: Int = 1, smoke: Int = 1, ours: Probe, reference: Probe,
         referenceName: String = "CPython", referenceKey: String = "python", field: String = "value",
         details: [String] = [], limit: Probe? = nil, referencePrefix: String? = nil) {
        self.name = name
        self.unit = unit
        fullItems = items
        smokeItems = smoke
        self.ours = ours
        self.reference = reference
        self.referenceName = referenceName
        self.referenceKey = referenceKey
        self.field = field
        detailFields = details
        self.limit = limit
        self.referencePrefix = referencePrefix
    }

    /// For the ratio, > 1 means we do better: tasks/s ours/reference, seconds and MB reference/ours.
    func ratio(ours: Double, reference: Double) -> Double {
        unit.higherIsBetter ? ours / reference : reference / ours
    }

    /// Every workload, in table order. Two workers throughout; sizes as in issue 4.
    static let all: [Workload] = [
        Workload("map_chunk1", .tasksPerSecond, items: 200_000, smoke: 2_000,
                 ours: .ours("map_chunk1"), reference: .python("map_chunk1"), limit: .pipeLimit(chunk: 1)),
        Workload("map_default", .tasksPerSecond, items: 1_000_000, smoke: 20_000,
                 ours: .ours("map_default"), reference: .python("map_default"), limit: .pipeLimit(chunk: nil)),
        Workload("imap_chunk1", .tasksPerSecond, items: 100_000, smoke: 1_000,
                 ours: .ours("imap_chunk1"), reference: .python("imap_chunk1"), limit: .pipeLimit(chunk: 1)),
        Workload("imap_unordered_chunk1", .tasksPerSecond, items: 100_000, smoke: 1_000,
                 ours: .ours("imap_unordered_chunk1"), reference: .python("imap_unordered_chunk1"),
                 limit: .pipeLimit(chunk: 1)),
        Workload("startup", .seconds, ours: .ours("startup"), reference: .python("startup")),
        Workload("tutorial", .seconds, ours: .poolmonTutorial, reference: .pythonTutorial),
        // The watched rows: `map_chunk1` of 1,000,000 items watched and unwatched, in one
        // process, in the order U W W U repeated six times after a warm-up run of each side (see
        // `OurMeasurements.watchOrder`), medians of each. Watched and unwatched each in a fresh process, one of each a round,
        // gave ratios from 0.83 to 1.06 for one build within minutes: this machine's speed
        // drifts by more than the cost being measured.
        Workload("monitored", .tasksPerSecond, items: 1_000_000, smoke: 2_000,
                 ours: .ours("monitored"), reference: .ours("monitored"),
                 referenceName: "ours unwatched", referenceKey: "unwatched",
                 details: ["seconds", "caught_up", "dropped"], referencePrefix: "unwatched_"),
        Workload("monitored_socket", .tasksPerSecond, items: 1_000_000, smoke: 2_000,
                 ours: .ours("monitored_socket"), reference: .ours("monitored_socket"),
                 referenceName: "ours unwatched", referenceKey: "unwatched",
                 details: ["seconds", "caught_up", "dropped"], referencePrefix: "unwatched_"),
        // Mixed items (every 25th sleeps 5 ms, the rest are instant), imap_unordered with chunk
        // size 1: the time from an item's end in the worker to its result in the caller.
        Workload("latency", .milliseconds, items: 2_000, smoke: 100,
                 ours: .ours("latency"), reference: .python("latency"), field: "p99", details: ["p50"]),
        Workload("memory_parent", .megabytes, items: 1_000_000, smoke: 20_000,
                 ours: .ours("memory"), reference: .python("memory"), field: "after",
                 details: ["before", "peak"]),
        Workload("memory_worker", .megabytes, items: 1_000_000, smoke: 20_000,
                 ours: .ours("memory"), reference: .python("memory"), field: "worker"),
        // A struct of four scalars (Int, two Doubles, Bool) there and back, map_async with the
        // default chunk size: plain Codable (binary), its WireCodable twin, CPython pickling a
        // dataclass; and Codable against WireCodable directly.
        Workload("struct_codable", .tasksPerSecond, items: 1_000_000, smoke: 20_000,
                 ours: .ours("struct_codable"), reference: .python("struct_dataclass")),
        Workload("struct_wire", .tasksPerSecond, items: 1_000_000, smoke: 20_000,
                 ours: .ours("struct_wire"), reference: .python("struct_dataclass")),
        Workload("codable_vs_wire", .tasksPerSecond, items: 1_000_000, smoke: 20_000,
                 ours: .ours("struct_codable"), reference: .ours("struct_wire"),
                 referenceName: "ours WireCodable", referenceKey: "wire"),
        // The best any Codable coder could do here: the WireCodable twin plus Swift's own Codable
        // dispatch for the struct (a coder that stores nothing and reads constants; see
        // DispatchFloor), against the twin alone.
        Workload("codable_floor_vs_wire", .tasksPerSecond, items: 1_000_000, smoke: 20_000,
                 ours: .ours("struct_floor"), reference: .ours("struct_wire"),
                 referenceName: "ours WireCodable", referenceKey: "wire"),
    ]
}
