import ArgumentParser
import Foundation
import ProcessPool

/// `poolmon run`: the tutorial, headless, printing what the workers print and then the totals.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the tutorial without the monitor: two simultaneous jobs, sum and product, then their totals."
    )

    @OptionGroup var options: DemoOptions

    @Flag(help: "Do not print a line per task; print the totals only.")
    var quiet = false

    func run() async throws {
        let recorder = try options.events.map { try EventRecorder(path: $0) }
        let pool: ProcessPool
        do {
            pool = try ProcessPool(workers: options.workers)
        } catch {
            throw ValidationError("\(error)")
        }
        let stop = SignalStop.install { pool.terminate() }
        defer { stop.cancel() }
        let recording = recorder.map { recorder in
            let events = pool.events(bufferingLimit: 1 << 20)
            return Task { await recorder.record(events) }
        }

        let work = DemoTasks.work(count: options.count, delay: options.delay, quiet: quiet)
        let totals: (sum: Int, product: Int)
        do {
            totals = try await runJobs(pool, work)
        } catch {
            pool.terminate()
            await recording?.value
            throw error
        }
        pool.close()
        try pool.join()
        if let recording {
            await recording.value
            try recorder?.finish(dropped: pool.droppedEventCount)
        }
        print("Sum of sums of 'a' and 'b' is \(totals.sum)")
        print("Sum of products of 'a' and 'b' is \(totals.product)")
    }

    /// Submits both jobs at once, as the tutorial does, then collects them in the chosen mode.
    private func runJobs(_ pool: ProcessPool, _ work: [DemoItem]) async throws -> (sum: Int, product: Int) {
        switch options.mode {
        case .mapAsync:
            let sums = try pool.mapAsync(DemoTasks.sum, work, chunksize: options.chunksize, label: "sum")
            let products = try pool.mapAsync(DemoTasks.product, work, chunksize: options.chunksize, label: "product")
            return (try await sums.value.reduce(0, +), try await products.value.reduce(0, +))
        case .imap, .imapUnordered:
            let chunksize = options.chunksize ?? 1
            let ordered = options.mode == .imap
            let sums = try ordered
                ? pool.imap(DemoTasks.sum, work, chunksize: chunksize, label: "sum")
                : pool.imapUnordered(DemoTasks.sum, work, chunksize: chunksize, label: "sum")
            let products = try ordered
                ? pool.imap(DemoTasks.product, work, chunksize: chunksize, label: "product")
                : pool.imapUnordered(DemoTasks.product, work, chunksize: chunksize, label: "product")
            return (try await sums.collect().reduce(0, +), try await products.collect().reduce(0, +))
        }
    }
}
