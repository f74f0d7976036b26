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

    /// The defaults, with this many workers.
    init(workers: Int) {
        self.workers = workers
        chunksize = nil
        mode = .mapAsync
        delay = 1
        count = 10
        quiet = false
    }

    init(_ options: DemoOptions, quiet: Bool) {
        workers = options.workers ?? ProcessPool.usableCPUCount
        chunksize = options.chunksize
        mode = options.mode
        delay = options.delay
        count = options.count
        self.quiet = quiet
    }
}

/// The tutorial itself: two jobs, `sum` and `product`, submitted at once on one pool.
enum DemoRun {
    /// The tutorial's closing lines for these results.
    static func totals(sums: [Int], products: [Int]) -> [String] {
        ["Sum of sums of 'a' and 'b' is \(sums.reduce(0, +))",
         "Sum of products of 'a' and 'b' is \(products.reduce(0, +))"]
    }

    /// Submits both jobs, then waits for them in the chosen mode.
    /// - Returns: the results of `sum` and of `product`, each in the order the mode delivers them.
    static func run(on pool: ProcessPool, _ settings: RunSettings) async throws -> (sums: [Int], products: [Int]) {
        let work = DemoTasks.work(count: settings.count, delay: settings.delay, quiet: settings.quiet)
        switch settings.mode {
        case .mapAsync:
            let sums = try pool.mapAsync(DemoTasks.sum, work, chunksize: settings.chunksize, label: "sum")
            let products = try pool.mapAsync(DemoTasks.product, work, chunksize: settings.chunksize, label: "product")
            return (try await sums.value, try await products.value)
        case .imap, .imapUnordered:
            let chunksize = settings.chunksize ?? 1
            let ordered = settings.mode == .imap
            let sums = try ordered
                ? pool.imap(DemoTasks.sum, work, chunksize: chunksize, label: "sum")
                : pool.imapUnordered(DemoTasks.sum, work, chunksize: chunksize, label: "sum")
            let products = try ordered
                ? pool.imap(DemoTasks.product, work, chunksize: chunksize, label: "product")
                : pool.imapUnordered(DemoTasks.product, work, chunksize: chunksize, label: "product")
            return (try await sums.collect(), try await products.collect())
        }
    }
}
