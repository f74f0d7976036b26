import Foundation
import Glibc
import ProcessPool
import Synchronization

/// Tasks for the engine tests. The test process uses the handles; `PoolTestWorker` (the worker
/// executable) serves the bodies.
public enum TestTasks {
    public static let registry: TaskRegistry = {
        var registry = TaskRegistry()
        registry.register("add") { (pair: Pair<Int, Int>) in pair.first + pair.second }
        registry.register("square") { (x: Int) in x * x }
        registry.register("multiply") { (a: Int, b: Int) in a * b }
        registry.register("pid") { (_: Int) in getpid() }
        registry.register("sleepThenReturn") { (pair: Pair<Int, Int>) in
            sleepMilliseconds(pair.second)
            return pair.first
        }
        registry.register("failOn") { (pair: Pair<Int, Int>) throws -> Int in
            if pair.first == pair.second { throw TestTaskError.rejected(value: pair.first) }
            return pair.first
        }
        registry.register("failAfter") { (pair: Pair<Int, Int>) throws -> Int in
            sleepMilliseconds(pair.second)
            throw TestTaskError.rejected(value: pair.first)
        }
        registry.register("gatedValue") { (gate: GatedValue) -> Int in
            if !gate.path.isEmpty { waitForFile(gate.path) }
            return gate.value
        }
        // An identity that takes a little while (about 0.05 ms): long enough for kills to land mid-chunk.
        registry.register("slowIdentity") { (x: Int) -> Int in
            usleep(50)
            return x
        }
        registry.register("ignoreTermAndHang") { (_: Int) -> Int in
            signal(SIGTERM, SIG_IGN)
            sleepMilliseconds(60_000)
            return 0
        }
        registry.register("gatedFailure") { (gate: GatedValue) throws -> Int in
            if !gate.path.isEmpty { waitForFile(gate.path) }
            throw TestTaskError.rejected(value: gate.value)
        }
        registry.register("interval") { (milliseconds: Int) -> [UInt64] in
            let start = monotonicNanoseconds()
            sleepMilliseconds(milliseconds)
            return [start, monotonicNanoseconds(), UInt64(getpid())]
        }
        registry.register("crashOn") { (pair: Pair<Int, Int>) -> Int in
            if pair.first == pair.second { abort() }
            sleepMilliseconds(1)
            return pair.first
        }
        // A Swift runtime trap with a message, as a `precondition` or `fatalError` in user code.
        registry.register("fatalOn") { (pair: Pair<Int, Int>) -> Int in
            if pair.first == pair.second { fatalError("fatal item \(pair.first)") }
            return pair.first
        }
        // A line on standard error, written in two pieces (the parent must still show it whole).
        registry.register("errorLine") { (text: String) -> Int in
            let bytes = Array((text + "\n").utf8)
            let half = bytes.count / 2
            bytes.withUnsafeBytes { raw in
                _ = write(2, raw.baseAddress, half)
                usleep(20_000)
                _ = write(2, raw.baseAddress! + half, raw.count - half)
            }
            return text.count
        }
        // `first` lines of `second` bytes each ("err " and x's) on standard error, one write each.
        registry.register("errorLines") { (pair: Pair<Int, Int>) -> Int in
            let line = Array(("err " + String(repeating: "x", count: max(pair.second - 5, 0)) + "\n").utf8)
            for _ in 0..<pair.first { line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) } }
            return pair.first
        }
        registry.register("initialize") { (value: Int) -> Int in
            initializedValue.store(value, ordering: .relaxed)
            initializerRuns.add(1, ordering: .relaxed)
            return 0
        }
        registry.register("initializerState") { (_: Int) -> Pair<Int, Int> in
            Pair(initializedValue.load(ordering: .relaxed), initializerRuns.load(ordering: .relaxed))
        }
        registry.register("failingInitializer") { (_: Int) throws -> Int in throw TestTaskError.rejected(value: -1) }
        // Plain Codable (the binary path): a Measurement of NaN refuses to encode, so the result
        // fails to encode in the worker.
        registry.register("measure") { (x: Int) -> Measurement in Measurement(value: x < 0 ? .nan : Double(x)) }
        registry.register("echoMeasurement") { (m: Measurement) -> Measurement in m }
        // Plain Codable with a large byte array and an optional: the binary Codable path.
        registry.register("blobSum") { (blob: Blob) -> Blob in
            Blob(bytes: [UInt8(truncatingIfNeeded: blob.bytes.reduce(0) { $0 + Int($1) })], tag: blob.tag.map { $0 + "!" })
        }
        // A plain Codable result the parent refuses to decode when it is `Picky.refused`.
        registry.register("picky") { (x: Int) -> Picky in Picky(value: x) }
        // Write straight onto the result pipe (descriptor 4), as a buggy or hostile worker would.
        registry.register("writeGarbage") { (kind: Int) -> Int in
            let bytes: [UInt8] = switch kind {
            case 0: [0xff, 0xff, 0xff, 0xff, 13]          // a frame longer than any allowed
            case 1: [5, 0, 0, 0, 13, 1, 0, 0, 0]          // an item result cut short
            default: [3, 0, 0, 0, 99, 0, 0]               // an unknown frame kind
            }
            bytes.withUnsafeBytes { _ = write(4, $0.baseAddress, $0.count) }
            sleepMilliseconds(60_000)  // the parent kills us long before this
            return kind
        }
        registry.register("printLine") { (text: String) -> Int in
            WorkerProcess.printLine(text)
            return text.count
        }
        // An initializer with a side effect the test process can see: creates the file at `path`.
        registry.register("touch") { (path: String) -> Int in
            let fd = open(path, O_CREAT | O_WRONLY, 0o644)
            if fd >= 0 { close(fd) }
            return Int(fd)
        }
        // A task's own Codable error, registered: it reaches the caller as itself.
        registry.registerError(ValidationError.self)
        registry.register("validate") { (x: Int) throws -> Int in
            if x < 0 { throw ValidationError(field: "x", value: x) }
            return x
        }
        return registry
    }()

    public static let add = PoolTask<Pair<Int, Int>, Int>(name: "add")
    public static let square = PoolTask<Int, Int>(name: "square")
    public static let multiply = PoolTask<Pair<Int, Int>, Int>(name: "multiply")
    public static let pid = PoolTask<Int, Int32>(name: "pid")
    public static let sleepThenReturn = PoolTask<Pair<Int, Int>, Int>(name: "sleepThenReturn")
    public static let failOn = PoolTask<Pair<Int, Int>, Int>(name: "failOn")
    public static let failAfter = PoolTask<Pair<Int, Int>, Int>(name: "failAfter")
    public static let gatedValue = PoolTask<GatedValue, Int>(name: "gatedValue")
    public static let slowIdentity = PoolTask<Int, Int>(name: "slowIdentity")
    public static let ignoreTermAndHang = PoolTask<Int, Int>(name: "ignoreTermAndHang")
    public static let gatedFailure = PoolTask<GatedValue, Int>(name: "gatedFailure")
    public static let interval = PoolTask<Int, [UInt64]>(name: "interval")
    public static let crashOn = PoolTask<Pair<Int, Int>, Int>(name: "crashOn")
    public static let fatalOn = PoolTask<Pair<Int, Int>, Int>(name: "fatalOn")
    public static let errorLine = PoolTask<String, Int>(name: "errorLine")
    public static let errorLines = PoolTask<Pair<Int, Int>, Int>(name: "errorLines")
    public static let initialize = PoolTask<Int, Int>(name: "initialize")
    public static let initializerState = PoolTask<Int, Pair<Int, Int>>(name: "initializerState")
    public static let failingInitializer = PoolTask<Int, Int>(name: "failingInitializer")
    public static let measure = PoolTask<Int, Measurement>(name: "measure")
    public static let echoMeasurement = PoolTask<Measurement, Measurement>(name: "echoMeasurement")
    public static let blobSum = PoolTask<Blob, Blob>(name: "blobSum")
    public static let picky = PoolTask<Int, Picky>(name: "picky")
    public static let writeGarbage = PoolTask<Int, Int>(name: "writeGarbage")
    public static let printLine = PoolTask<String, Int>(name: "printLine")
    public static let validate = PoolTask<Int, Int>(name: "validate")
    public static let touch = PoolTask<String, Int>(name: "touch")
    /// Registered nowhere: the worker must answer with an unknown-task error.
    public static let missing = PoolTask<Int, Int>(name: "noSuchTask")

    // The worker runs tasks on its one thread; atomics keep the globals legal under Swift 6.
    static let initializedValue = Atomic<Int>(0)
    static let initializerRuns = Atomic<Int>(0)
}

/// A value returned once the file at `path` exists (at once when `path` is empty): lets a test
/// hold a task running for exactly as long as it needs, without timing assumptions.
public struct GatedValue: WireCodable {
    public var value: Int
    public var path: String

    public init(_ value: Int, gate path: String = "") {
        self.value = value
        self.path = path
    }

    public func encode(to writer: inout WireWriter) {
        value.encode(to: &writer)
        path.encode(to: &writer)
    }

    public init(from reader: inout WireReader) throws(WireFormatError) {
        value = try Int(from: &reader)
        path = try String(from: &reader)
    }
}

/// A `Codable`-only type (no binary encoding): travels as JSON.
public struct Measurement: Codable, Sendable, Equatable {
    public var value: Double
    public init(value: Double) { self.value = value }

    private enum CodingKeys: String, CodingKey { case value }

    /// Refuses NaN, as JSON does: a value whose own `encode(to:)` throws.
    public func encode(to encoder: any Encoder) throws {
        guard !value.isNaN else {
            throw EncodingError.invalidValue(value, .init(codingPath: [CodingKeys.value], debugDescription: "NaN is not a measurement"))
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(value, forKey: .value)
    }
}

/// A plain `Codable` struct (not ``WireCodable``) holding bytes.
public struct Blob: Codable, Sendable, Equatable {
    public var bytes: [UInt8]
    public var tag: String?
    public init(bytes: [UInt8], tag: String?) {
        self.bytes = bytes
        self.tag = tag
    }
}

/// A plain `Codable` value whose decoding refuses one value (``refused``): a result that encodes
/// in the worker but cannot be decoded by the parent.
public struct Picky: Codable, Sendable, Equatable {
    public static let refused = 41_999
    public var value: Int
    public init(value: Int) { self.value = value }

    private enum CodingKeys: String, CodingKey { case value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        value = try container.decode(Int.self, forKey: .value)
        if value == Self.refused {
            throw DecodingError.dataCorruptedError(forKey: .value, in: container, debugDescription: "\(value) is refused")
        }
    }
}

/// An error type registered with `registerError`: travels back as itself.
public struct ValidationError: Error, Codable, Equatable, CustomStringConvertible {
    public var field: String
    public var value: Int
    public init(field: String, value: Int) {
        self.field = field
        self.value = value
    }
    public var description: String { "\(field) must not be negative (got \(value))" }
}

public enum TestTaskError: Error, CustomStringConvertible {
    case rejected(value: Int)
    public var description: String {
        switch self {
        case .rejected(let value): "rejected \(value)"
        }
    }
}

func sleepMilliseconds(_ milliseconds: Int) {
    guard milliseconds > 0 else { return }
    usleep(UInt32(milliseconds) * 1000)
}

func waitForFile(_ path: String) {
    // Bounded, so a test that forgets to open its gate cannot leave a worker behind forever.
    for _ in 0..<60_000 where access(path, F_OK) != 0 { usleep(1000) }
}

public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
