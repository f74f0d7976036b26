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
    /// `--task-timeout`: a task silent for longer is stopped and its worker replaced.
    var taskTimeout: Double?
    /// `--launcher`: where the workers run.
    var launcher: WorkerLauncher = .local
    /// `--jitter` as given; nil: the mode's default (see ``jitter``).
    var jitterOption: Double?

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
        // Validated by the option group already; `.local` cannot fail.
        launcher = (try? options.placement.resolved()) ?? .local
        workers = options.workers ?? launcher.defaultWorkerCount ?? ProcessPool.usableCPUCount
        chunksize = options.chunksize
        mode = options.mode
        delay = options.delay
        count = options.count
        self.quiet = quiet
        poison = options.crashOn
        taskTimeout = options.taskTimeout
        jitterOption = options.jitter
    }

    /// How much each task's time varies either way (a fraction of `delay`). By default the
    /// ordered modes get ±50%: with every task equally long, the items of a chunk pair finish
    /// together and imap never has a finished result to hold back, its defining behaviour.
    var jitter: Double { jitterOption ?? (mode == .mapAsync ? 0 : 0.5) }
}

/// The tutorial itself: two jobs, `sum` and `product`, submitted at once on one pool.
enum DemoRun {
    /// The pool for a run of the tutorial.
    static func poolConfiguration(_ settings: RunSettings, captureOutput: Bool) -> ProcessPool.Configuration {
        var configuration = ProcessPool.Configuration(workers: settings.workers)
        configuration.captureOutput = captureOutput
        configuration.launcher = settings.launcher
        configuration.taskTimeout = settings.taskTimeout.map { .nanoseconds(Int64(($0 * 1e9).rounded())) }
        if settings.poison != nil {
            // The poison item aborts on purpose: spare the user Swift's crash report for each one.
            var environment = ProcessInfo.processInfo.environment
            environment["SWIFT_BACKTRACE"] = "enable=no"
            configuration.environment = environment
            configuration.remoteEnvironment["SWIFT_BACKTRACE"] = "enable=no"
        }
        return configuration
    }

    /// The totals of both jobs, or why a job has none.
    typealias Totals = (sums: Result<Int128, any Error>, products: Result<Int128, any Error>)

    /// The tutorial's closing line for one job: its total, or why it has none.
    static func totalLine(_ job: String, _ total: Result<Int128, any Error>) -> String {
        let noun = job == "sum" ? "sums" : "products"
        switch total {
        case .success(let value): return "Sum of \(noun) of 'a' and 'b' is \(value)"
        case .failure(let error): return "Sum of \(noun) of 'a' and 'b' failed: \(error)"
        }
    }

    /// The exact total of a job's results. 128 bits: at `--count 10000000` the products alone
    /// add up to about 8.3 × 10²⁰, past `Int.max` (9.2 × 10¹⁸); each result fits in an `Int`.
    static func total(_ values: some Sequence<Int>) -> Int128 {
        var total: Int128 = 0
        for value in values { total += Int128(value) }
        return total
    }

    /// Submits both jobs, then waits for both in the chosen mode; one failing does not lose the other.
    /// - Returns: the totals of `sum` and of `product`. Streamed results are added up as they
    ///   arrive, not kept: memory stays flat whatever `--count` is.
    static func run(on pool: ProcessPool, _ settings: RunSettings) async throws -> Totals {
        func work(_ job: String) -> DemoWork {
            let poison = settings.poison.flatMap { $0.job == job ? $0.item - 1 : nil }
            return DemoTasks.work(count: settings.count, delay: settings.delay, quiet: settings.quiet, crashAt: poison,
                                  jitter: settings.jitter, seed: job == "sum" ? 1 : 2)
        }
        switch settings.mode {
        case .mapAsync:
            let sums = try pool.mapAsync(DemoTasks.sum, work("sum"), chunksize: settings.chunksize, label: "sum")
            let products = try pool.mapAsync(DemoTasks.product, work("product"), chunksize: settings.chunksize, label: "product")
            return (await Result { total(try await sums.value) }, await Result { total(try await products.value) })
        case .imap, .imapUnordered:
            let chunksize = settings.chunksize ?? 1
            let ordered = settings.mode == .imap
            let sums = try ordered
                ? pool.imap(DemoTasks.sum, work("sum"), chunksize: chunksize, label: "sum")
                : pool.imapUnordered(DemoTasks.sum, work("sum"), chunksize: chunksize, label: "sum")
            let products = try ordered
                ? pool.imap(DemoTasks.product, work("product"), chunksize: chunksize, label: "product")
                : pool.imapUnordered(DemoTasks.product, work("product"), chunksize: chunksize, label: "product")
            func add(_ stream: ResultStream<Int>) async throws -> Int128 {
                var total: Int128 = 0
                for try await value in stream { total += Int128(value) }
                return total
            }
            return (await Result { try await add(sums) }, await Result { try await add(products) })
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
