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
            pool = try ProcessPool(configuration: DemoRun.poolConfiguration(RunSettings(options, quiet: quiet), captureOutput: false))
        } catch {
            throw ValidationError("\(error)")
        }
        let stop = SignalStop.install { pool.terminate() }
        defer { stop.cancel() }
        let recording = recorder.map { recorder in
            let events = pool.events(bufferingLimit: 1 << 20)
            return Task { await recorder.record(events) }
        }

        let results: (sums: Result<[Int], any Error>, products: Result<[Int], any Error>)
        do {
            results = try await DemoRun.run(on: pool, RunSettings(options, quiet: quiet))
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
        var failed = false
        for (job, result) in [("sum", results.sums), ("product", results.products)] {
            let line = DemoRun.totalLine(job, result)
            if case .failure = result {
                failed = true
                FileHandle.standardError.write(Data("poolmon: \(line)\n".utf8))
            } else {
                print(line)
            }
        }
        // A job that failed (a poison item) fails the command, after the other job's total.
        if failed { throw ExitCode(1) }
    }
}
