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
        if StandardStreams.wasClosedAtStart(STDOUT_FILENO) {
            StandardStreams.complain("poolmon: standard output is closed: there is nowhere to write the results")
            throw ExitCode(74)
        }
        let recorder = try options.events.map { try EventRecorder(path: $0) }
        let pool: ProcessPool
        do {
            pool = try ProcessPool(configuration: DemoRun.poolConfiguration(RunSettings(options, quiet: quiet), captureOutput: false))
        } catch {
            StandardStreams.complain("poolmon: cannot start the pool: \(error)")
            throw ExitCode(71)
        }
        let stop = SignalStop.install { pool.terminate() }
        defer { stop.cancel() }
        OutputWatch.start()
        let recording = recorder.map { recorder in
            let events = pool.events(bufferingLimit: 1 << 20)
            return Task { await recorder.record(events) }
        }

        let results: DemoRun.Totals
        do {
            results = try await DemoRun.run(on: pool, RunSettings(options, quiet: quiet))
        } catch {
            pool.terminate()
            await recording?.value
            throw error
        }
        // A stop (a signal, or nobody reading standard output) failed the jobs: it owns the exit.
        SignalStop.waitIfStopping()
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
                StandardStreams.complain("poolmon: \(line)")
            } else {
                try Self.writeResult(line)
            }
        }
        // A job that failed (a poison item) fails the command, after the other job's total.
        if failed { throw ExitCode(1) }
    }

    /// Writes a line of the results to standard output, unbuffered; a failure is said on
    /// standard error and fails the command (141 for a closed pipe, as SIGPIPE would; else 74).
    static func writeResult(_ line: String) throws {
        do {
            try StandardStreams.write(line + "\n", to: STDOUT_FILENO)
        } catch {
            if error.isBrokenPipe {
                StandardStreams.complain("poolmon: standard output was closed (broken pipe); the results are lost")
                throw ExitCode(128 + SIGPIPE)
            }
            StandardStreams.complain("poolmon: cannot write the results: \(error)")
            throw ExitCode(74)
        }
    }
}
