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

    func encode(to writer: inout WireWriter) {
        x.encode(to: &writer)
        y.encode(to: &writer)
        delayNanoseconds.encode(to: &writer)
        quiet.encode(to: &writer)
        crash.encode(to: &writer)
    }

    init(x: Int, y: Int, delayNanoseconds: Int, quiet: Bool, crash: Bool = false) {
        self.x = x
        self.y = y
        self.delayNanoseconds = delayNanoseconds
        self.quiet = quiet
        self.crash = crash
    }

    init(from reader: inout WireReader) throws(WireFormatError) {
        x = try Int(from: &reader)
        y = try Int(from: &reader)
        delayNanoseconds = try Int(from: &reader)
        quiet = try Bool(from: &reader)
        crash = try Bool(from: &reader)
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
            WorkerProcess.printLine("Worker \(getpid()) is processing \(name)(\(item.x),\(item.y))")
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

    /// The tutorial's work list: `zip(a, b)` with `a = 1…count`, `b = count+1…2·count`.
    static func work(count: Int, delay: Double, quiet: Bool) -> [DemoItem] {
        let nanoseconds = Int((delay * 1e9).rounded())
        return (0..<count).map { i in
            DemoItem(x: i + 1, y: count + i + 1, delayNanoseconds: nanoseconds, quiet: quiet)
        }
    }
}
