import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import TerminalTestSupport
import Testing

/// Issue 11, point 5: a crash's error carries the signal and the worker's last words, and crashed
/// workers' backtraces no longer flood the program's standard error.
@Suite("Worker standard error", .timeLimit(.minutes(4)))
struct WorkerStderrTests {
    @Test("a fatalError's crash: the error has the signal and the message, and so does the workerExited event",
          .timeLimit(.minutes(2)), arguments: [false, true])
    func crashCarriesLastWords(captureOutput: Bool) async throws {
        let pool = try TestEnvironment.pool(workers: 1) {
            $0.maxCrashRetries = 0
            $0.captureOutput = captureOutput
        }
        defer { pool.terminate() }
        var events = pool.events().makeAsyncIterator()
        do {
            _ = try await pool.map(TestTasks.fatalOn, (0..<3).map { Pair($0, 1) }, chunksize: 1)
            Issue.record("the map should have failed")
        } catch let error as PoolError {
            #expect(error.code == .workerCrashed)
            if case .signaled = error.termination {} else { Issue.record("termination: \(String(describing: error.termination))") }
            #expect(error.workerOutput.contains { $0.contains("Fatal error: fatal item 1") }, "\(error.workerOutput)")
            #expect("\(error)".contains("Fatal error: fatal item 1"), "\(error)")
            #expect(!error.workerOutput.contains { $0.contains("Backtrace") || $0.contains("Thread 0") }, "\(error.workerOutput)")
        }
        // The first crash's report (every crash of that worker said the same).
        var lastOutput: [String]?
        while let event = await events.next() {
            if case .workerExited(_, _, .signaled, .crashed, let details) = event.kind {
                lastOutput = details?.lastOutput
                break
            }
        }
        #expect(lastOutput?.contains { $0.contains("Fatal error: fatal item 1") } == true, "\(String(describing: lastOutput))")
    }

    @Test("in a program: workers' stderr lines reach its stderr whole, and each crash says one line, no backtrace",
          .timeLimit(.minutes(3)))
    func noBacktraceFlood() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = nil
        let output = try ChildProcess.run(TestEnvironment.workerPath, ["scenario", "fatal-crash"],
                                          environment: environment, timeout: .seconds(150))
        #expect(output.status == 0, "\(output.standardOutput)\n\(output.standardError)")
        let failed = try #require(output.standardOutput.split(separator: "\n").first { $0.hasPrefix("FAILED ") },
                                  "\(output.standardOutput)")
        #expect(failed.contains("killed") && failed.contains("Fatal error: fatal item 3"), "\(failed)")
        let lines = output.standardError.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(lines.contains("a line on standard error from a worker"), "\(lines)")
        #expect(lines.contains("another one"), "\(lines)")
        let fatal = lines.filter { $0.hasSuffix("Fatal error: fatal item 3") }
        #expect(!fatal.isEmpty, "\(lines)")
        // Nothing else: no backtracer's report, no half lines. (A debug build's runtime adds its
        // own short stack trace to a fatalError, backtracer or not: allowed, it is not a flood.)
        let unexpected = lines.filter {
            $0 != "a line on standard error from a worker" && $0 != "another one" && !$0.hasSuffix("Fatal error: fatal item 3")
                && !WorkerStderrTests.isRuntimeStackTraceLine($0)
        }
        #expect(unexpected.isEmpty, "\(unexpected.count) other lines, the first: \(unexpected.prefix(5))")
        #expect(lines.count <= fatal.count * 30 + 2, "\(lines.count) lines for \(fatal.count) crashes")
    }

    @Test("a program whose standard error nobody reads: the pool does not stall; what gets through later is whole lines",
          .timeLimit(.minutes(3)))
    func unreadStandardError() throws {
        let output = try ChildProcess.run(TestEnvironment.workerPath, ["scenario", "stderr-unread"], timeout: .seconds(150))
        #expect(output.status == 0, "\(output.standardOutput)\n\(output.standardError)")
        let lines = output.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.contains("MAPPED [2000, 2000]"), "\(lines)")
        let summary = try #require(lines.first { $0.hasPrefix("LINES ") }, "\(lines)")
        #expect(summary.hasSuffix("WHOLE true"), "\(lines)")
        // 2.4 MB written against a pipe of 64 KB and at most 1 MB waiting: some were dropped, and
        // the note said so once the pipe was read.
        #expect(summary.contains("NOTES 1"), "\(lines)")
        let count = Int(summary.split(separator: " ")[1]) ?? 0
        #expect(count > 1_000 && count < 4_000, "\(lines)")
    }

    /// "Current stack trace:" or one of its frames (`12   libswiftCore.so   0x… symbol + 33`).
    static func isRuntimeStackTraceLine(_ line: String) -> Bool {
        if line == "Current stack trace:" { return true }
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        return fields.count >= 3 && Int(fields[0]) != nil && fields[2].hasPrefix("0x")
    }
}
