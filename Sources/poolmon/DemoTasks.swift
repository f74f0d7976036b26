import Glibc
import ProcessPool

/// One item of the tutorial's work: the pair `(x, y)`, with how long to sleep and whether to print.
struct DemoItem: WireCodable, Equatable {
    var x: Int
    var y: Int
    var delayNanoseconds: Int
    var quiet: Bool
    /// Abort the worker on this item (`--crash-on`): a poison item, to watch recovery.
    var crash = false

    /// 17 bytes on the wire (x and y as 32 bits: `--count` is at most 10,000,000, so y is at most
    /// 20,000,000; the delay; one byte of flags): a job of ten million items is encoded in
    /// ~170 MB less than with every field at full width.
    func encode(to writer: inout WireWriter) {
        writer.write(UInt32(truncatingIfNeeded: x))
        writer.write(UInt32(truncatingIfNeeded: y))
        writer.write(UInt64(max(0, delayNanoseconds)))
        writer.write(UInt8((quiet ? 1 : 0) | (crash ? 2 : 0)))
    }

    init(x: Int, y: Int, delayNanoseconds: Int, quiet: Bool, crash: Bool = false) {
        self.x = x
        self.y = y
        self.delayNanoseconds = delayNanoseconds
        self.quiet = quiet
        self.crash = crash
    }

    init(from reader: inout WireReader) throws(WireFormatError) {
        x = Int(try reader.read(UInt32.self))
        y = Int(try reader.read(UInt32.self))
        delayNanoseconds = Int(clamping: try reader.read(UInt64.self))
        let flags = try reader.read(UInt8.self)
        quiet = flags & 1 != 0
        crash = flags & 2 != 0
    }
}

/// The tutorial's two tasks, `sum` and `product`, registered for the parent and its workers.
enum DemoTasks {
    static let registry: TaskRegistry = {
        var registry = TaskRegistry()
        registry.register("sum") { (item: DemoItem) in run("sum", item) { $0 + $1 } }
        registry.register("product") { (item: DemoItem) in run("product", item) { $0 * $1 } }
        return registry
    }()

    static let sum = PoolTask<DemoItem, Int>(name: "sum")
    static let product = PoolTask<DemoItem, Int>(name: "product")

    /// What a tutorial task does in the worker: say what it is doing, sleep, compute.
    private static func run(_ name: String, _ item: DemoItem, _ operation: (Int, Int) -> Int) -> Int {
        if !item.quiet {
            WorkerProcess.printLine("Worker \(WorkerProcess.displayName) is processing \(name)(\(item.x),\(item.y))")
        }
        if item.delayNanoseconds > 0 {
            var remaining = timespec(tv_sec: item.delayNanoseconds / 1_000_000_000,
                                     tv_nsec: item.delayNanoseconds % 1_000_000_000)
            var left = timespec()
            while nanosleep(&remaining, &left) != 0 && errno == EINTR { remaining = left }
        }
        if item.crash { abort() }
        return operation(item.x, item.y)
    }

    /// The tutorial's work list: `zip(a, b)` with `a = 1…count`, `b = count+1…2·count`, made
    /// as the pool encodes it (no array of items beside the encoded one).
    /// - Parameters:
    ///   - crashAt: the 0-based index of the item that aborts its worker (`--crash-on`).
    ///   - jitter: each item sleeps `delay × (1 ± jitter)`, the spread fixed by the item's index
    ///     and `seed` (the same run twice takes the same times), averaging `delay`.
    static func work(count: Int, delay: Double, quiet: Bool, crashAt: Int? = nil,
                     jitter: Double = 0, seed: UInt64 = 0) -> DemoWork {
        DemoWork(count: count, delayNanoseconds: delay * 1e9, quiet: quiet, crashAt: crashAt,
                 jitter: max(0, min(1, jitter)), seed: seed)
    }

    /// A value in -1…1 that looks random but depends only on `index` and `seed` (SplitMix64).
    static func unitNoise(_ index: UInt64, seed: UInt64) -> Double {
        var z = index &+ seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53) * 2 - 1
    }
}
