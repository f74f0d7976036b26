import Foundation
import ProcessPool

/// What one run of the tutorial uses: the monitor changes these between runs.
struct RunSettings: Sendable, Equatable {
    var workers: Int
    /// `nil`: Python's formula for map_async, 1 for imap.
    var chunksize: Int?
    var mode: DemoMode
    var delay: Double
    var count: Int
    var quiet: Bool
    var poison: PoisonItem?

    /// The defaults, with this many workers.
    init(workers: Int) {
        self.workers = workers
        chunksize = nil
        mode = .mapAsync
        delay = 1
        count = 10
        quiet = false
        poison = nil
    }

    init(_ options: DemoOptions, quiet: Bool) {
        workers = options.workers ?? ProcessPool.usableCPUCount
        chunksize = options.chunksize
        mode = options.mode
        delay = options.delay
        count = options.count
        self.quiet = quiet
        poison = options.crashOn
    }
}

/// The tutorial itself: two jobs, `sum` and `product`, submitted at once on one pool.
enum DemoRun {
    /// The pool for a run of the tutorial.
    static func poolConfiguration(_ settings: RunSettings, captureOutput: Bool) -> ProcessPool.Configuration {
        var configuration = ProcessPool.Configuration(workers: settings.workers)
        configuration.captureOutput = captureOutput
        if settings.poison != nil {
            // The poison item aborts on purpose: spare the user Swift's crash report for each one.
            var environment = ProcessInfo.processInfo.environment
            environment["SWIFT_BACKTRACE"] = "enable=no"
            configuration.environment = environment
        }
        return configuration
    }

    /// The tutorial's closing line for one job: its total, or why it has none.
    static func totalLine(_ job: String, _ results: Result<[Int], any Error>) -> String {
        let noun = job == "sum" ? "sums" : "products"
        switch results {
        case .success(let values): return "Sum of \(noun) of 'a' and 'b' is \(values.reduce(0, +))"
        case .failure(let error): return "Sum of \(noun) of 'a' and 'b' failed: \(error)"
        }
    }

    /// Submits both jobs, then waits for both in the chosen mode; one failing does not lose the other.
    /// - Returns: the results of `sum` and of `product`, each in the order the mode delivers them.
    static func run(on pool: ProcessPool, _ settings: RunSettings)
        async throws -> (sums: Result<[Int], any Error>, products: Result<[Int], any Error>)
    {
        func work(_ job: String) -> [DemoItem] {
            var items = DemoTasks.work(count: settings.count, delay: settings.delay, quiet: settings.quiet)
            if let poison = settings.poison, poison.job == job, poison.item <= items.count {
                items[poison.item - 1].crash = true
            }
            return items
        }
        switch settings.mode {
        case .mapAsync:
            let sums = try pool.mapAsync(DemoTasks.sum, work("sum"), chunksize: settings.chunksize, label: "sum")
            let products = try pool.mapAsync(DemoTasks.product, work("product"), chunksize: settings.chunksize, label: "product")
            return (await Result { try await sums.value }, await Result { try await products.value })
        case .imap, .imapUnordered:
            let chunksize = settings.chunksize ?? 1
            let ordered = settings.mode == .imap
            let sums = try ordered
                ? pool.imap(DemoTasks.sum, work("sum"), chunksize: chunksize, label: "sum")
                : pool.imapUnordered(DemoTasks.sum, work("sum"), chunksize: chunksize, label: "sum")
            let products = try ordered
                ? pool.imap(DemoTasks.product, work("product"), chunksize: chunksize, label: "product")
                : pool.imapUnordered(DemoTasks.product, work("product"), chunksize: chunksize, label: "product")
            return (await Result { try await sums.collect() }, await Result { try await products.collect() })
        }
    }
}

extension Result where Failure == any Error {
    /// Catches what an async body throws.
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
