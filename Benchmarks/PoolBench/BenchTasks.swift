import Glibc
import ProcessPool

/// The benchmark's task: the anchor's `add((x, y))`, as tiny as a task gets, so that what is
/// measured is the pool's own cost per task.
enum BenchTasks {
    static let registry: TaskRegistry = {
        var registry = TaskRegistry()
        registry.register("add") { (pair: Pair<Int, Int>) in pair.first + pair.second }
        // For the soak: `first + 1` after sleeping `second` microseconds, so kills land mid-chunk.
        registry.register("slowIncrement") { (pair: Pair<Int, Int>) -> Int in
            if pair.second > 0 { usleep(UInt32(pair.second)) }
            return pair.first + 1
        }
        // For latency: sleep `second` microseconds, then return when it ended (CLOCK_MONOTONIC
        // nanoseconds, the same clock in every process of the machine).
        registry.register("stampedSleep") { (pair: Pair<Int, Int>) -> Int in
            if pair.second > 0 { usleep(UInt32(pair.second)) }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            return now.tv_sec * 1_000_000_000 + now.tv_nsec
        }
        // Codable against WireCodable: the same tiny struct both ways, plain `Codable` (the
        // binary Codable path) and hand-written `WireCodable`.
        registry.register("shiftCodable") { (r: Reading) in Reading(id: r.id + 1, x: r.x, y: r.y, ok: !r.ok) }
        registry.register("shiftWire") { (r: WireReading) in WireReading(id: r.id + 1, x: r.x, y: r.y, ok: !r.ok) }
        // The same with the Codable dispatch floor added to each coding (see `DispatchFloor`).
        registry.register("shiftFloor") { (r: FloorReading) in
            FloorReading(WireReading(id: r.wire.id + 1, x: r.wire.x, y: r.wire.y, ok: !r.wire.ok))
        }
        return registry
    }()

    static let shiftCodable = PoolTask<Reading, Reading>(name: "shiftCodable")
    static let shiftWire = PoolTask<WireReading, WireReading>(name: "shiftWire")
    static let shiftFloor = PoolTask<FloorReading, FloorReading>(name: "shiftFloor")

    static let add = PoolTask<Pair<Int, Int>, Int>(name: "add")
    static let slowIncrement = PoolTask<Pair<Int, Int>, Int>(name: "slowIncrement")
    static let stampedSleep = PoolTask<Pair<Int, Int>, Int>(name: "stampedSleep")

    /// The latency workload's input: every 25th item sleeps 5 ms, the others not at all.
    static func mixed(_ n: Int) -> [Pair<Int, Int>] { (0..<n).map { Pair($0, $0 % 25 == 24 ? 5_000 : 0) } }

    /// The anchor's input: `(i, i + 1)` for `i` in `0..<n`; the results sum to `n * n`.
    static func pairs(_ n: Int) -> [Pair<Int, Int>] { (0..<n).map { Pair($0, $0 + 1) } }
}

/// A plain `Codable` struct of a few scalars (CPython's side pickles the same fields as a dataclass).
struct Reading: Codable, Sendable {
    var id: Int
    var x: Double
    var y: Double
    var ok: Bool
}

/// ``Reading``'s twin with a hand-written binary encoding.
struct WireReading: WireCodable {
    var id: Int
    var x: Double
    var y: Double
    var ok: Bool

    init(id: Int, x: Double, y: Double, ok: Bool) {
        self.id = id
        self.x = x
        self.y = y
        self.ok = ok
    }

    func encode(to writer: inout WireWriter) {
        writer.write(Int64(id))
        writer.write(x)
        writer.write(y)
        writer.write(UInt8(ok ? 1 : 0))
    }

    init(from reader: inout WireReader) throws(WireFormatError) {
        id = Int(try reader.read(Int64.self))
        x = try reader.read(Double.self)
        y = try reader.read(Double.self)
        ok = try reader.read(UInt8.self) != 0
    }
}
