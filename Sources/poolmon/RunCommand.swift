import ArgumentParser
import Dispatch
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

    @Argument(parsing: .postTerminator, help: ArgumentHelp(
        "A program to run instead of the tutorial (after --), its output passing through: with --events, every pool it creates (ProcessPool, or Python's multiprocessing.Pool) is recorded.",
        valueName: "command"))
    var command: [String] = []

    func run() async throws {
        if !command.isEmpty { return try await runProgram() }
        if StandardStreams.wasClosedAtStart(STDOUT_FILENO) {
            StandardStreams.complain("poolmon: standard output is closed: there is nowhere to write the results")
            throw ExitCode(74)
        }
        // Opened before any worker starts: an unwritable path fails now, with status 64.
        let eventLog = try await options.events.asyncMap { try await EventLogWriter.open(path: $0) }
        let pool: ProcessPool
        do {
            pool = try ProcessPool(configuration: DemoRun.poolConfiguration(RunSettings(options, quiet: quiet), captureOutput: false))
        } catch {
            await eventLog?.close()
            StandardStreams.complain("poolmon: cannot start the pool: \(error)")
            throw ExitCode(71)
        }
        // A log that cannot be written ends the run: the workers are stopped and reaped, and the
        // error is reported below (status 74) instead of the totals.
        eventLog?.onFailure { _ in pool.terminate() }
        let recordingDone = DispatchGroup()
        let stop = SignalStop.install {
            pool.terminate()
            // Stopping keeps the log: everything the pool emitted up to its end is written out
            // before the signal thread exits (bounded, in case a FIFO's reader stopped reading).
            if let eventLog {
                _ = recordingDone.wait(timeout: .now() + 10)
                eventLog.blockingClose(timeout: .seconds(10))
            }
        }
        defer { stop.cancel() }
        OutputWatch.start()
        let recording = eventLog.map { eventLog in
            let batches = pool.eventBatches(bufferingLimit: 1 << 20)
            recordingDone.enter()
            return Task {
                for await batch in batches { eventLog.append(batch) }
                recordingDone.leave()
            }
        }

        let results: DemoRun.Totals
        do {
            results = try await DemoRun.run(on: pool, RunSettings(options, quiet: quiet))
        } catch {
            pool.terminate()
            await recording?.value
            await eventLog?.close()
            if let failure = eventLog?.failure { throw failure }
            throw error
        }
        // A stop (a signal, or nobody reading standard output) failed the jobs: it owns the exit.
        SignalStop.waitIfStopping()
        pool.close()
        try await pool.join()
        await recording?.value
        if let eventLog {
            await eventLog.close()
            if let failure = eventLog.failure { throw failure }
            let dropped = pool.droppedEventCount + eventLog.droppedEventCount
            if dropped > 0 {
                FileHandle.standardError.write(Data("poolmon: \(dropped) events were dropped from '\(eventLog.path)' (the writer fell behind)\n".utf8))
            }
        }
        // A signal stopped the pool: its thread reports that and exits, not the totals.
        SignalStop.waitIfStopping()
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

    /// `poolmon run [--events FILE] -- CMD`: the program headless, its pools' events in the log;
    /// poolmon exits with the program's status.
    private func runProgram() async throws {
        let eventLog = try await options.events.asyncMap { try await EventLogWriter.open(path: $0) }
        let program: HeadlessProgram
        do {
            program = try HeadlessProgram(command: command, eventLog: eventLog)
        } catch {
            await eventLog?.close()
            throw ValidationError("\(error)")
        }
        let stop = SignalStop.install {
            program.stopProgram()
            eventLog?.blockingClose(timeout: .seconds(10))
        }
        defer { stop.cancel() }
        let status: Int32
        do {
            status = try await program.run()
        } catch {
            await eventLog?.close()
            StandardStreams.complain("poolmon: \(error)")
            throw ExitCode(127)
        }
        SignalStop.waitIfStopping()
        if let eventLog {
            await eventLog.close()
            if let failure = eventLog.failure { throw failure }
        }
        let code = ProgramSource.exitCode(status)
        if code != 0 { throw ExitCode(code) }
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

extension Optional {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
