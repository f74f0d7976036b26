import Foundation
import Glibc
@testable import poolmon
import ProcessPool
import TerminalTestSupport
import Testing

/// `poolmon run` under the faults of "Faults II": big counts, hung workers, resource limits,
/// closed or odd descriptors, and misleading environments. Each ends with the right result or
/// one clear line and a non-zero status, never a trap or a hang (every child has a deadline).
@Suite("poolmon run under faults")
struct RunFaultTests {
    static let poolmon = PoolmonProcess.executable

    /// Runs `script` with bash, poolmon's path in `$P`.
    func bash(_ script: String, timeout: Duration = .seconds(120)) throws -> ProcessOutput {
        var environment = ProcessInfo.processInfo.environment
        environment["P"] = Self.poolmon
        return try ChildProcess.run("/bin/bash", ["-c", script], environment: environment, timeout: timeout)
    }

    /// The lines of standard error that say something.
    func errorLines(_ output: ProcessOutput) -> [Substring] {
        output.standardError.split(separator: "\n").filter { !$0.isEmpty }
    }

    // MARK: class 3: totals past Int

    @Test("--count 2300000: the sum of products passes Int.max and is printed exactly")
    func totalsPastInt() throws {
        let run = try ChildProcess.run(Self.poolmon, ["run", "--count", "2300000", "--delay", "0", "--quiet"], timeout: .seconds(600))
        #expect(run.status == 0, "\(run.standardError)")
        // Σ (i + N + i) and Σ i·(N + i) for i = 1…N, N = 2,300,000 (computed with Python's big integers).
        #expect(run.standardOutput == "Sum of sums of 'a' and 'b' is 10580002300000\nSum of products of 'a' and 'b' is 10139171956667050000\n")
    }

    @Test("at the documented maximum, --count 10000000, the totals are exact")
    func totalsAtMaximum() throws {
        let count = 10_000_000
        let items = DemoTasks.work(count: count, delay: 0, quiet: true)
        #expect(DemoRun.total(items.lazy.map { $0.x + $0.y }) == 200_000_010_000_000)
        #expect(DemoRun.total(items.lazy.map { $0.x * $0.y }) == Int128("833333433333335000000"))
        #expect(DemoRun.totalLine("product", .success(Int128("833333433333335000000")!)) == "Sum of products of 'a' and 'b' is 833333433333335000000")
        // On the wire an item stays small: x and y as 32 bits are enough up to the maximum.
        var writer = WireWriterProbe()
        #expect(writer.size(of: DemoItem(x: count, y: 2 * count, delayNanoseconds: 3_600_000_000_000, quiet: true, crash: true)) == 17)
    }

    // MARK: class 6: hangs

    @Test("--task-timeout: a SIGSTOPped worker is stopped and replaced, and the run ends with the right totals")
    func stoppedWorker() throws {
        let run = try PoolmonProcess(["run", "--workers", "2", "--count", "20", "--delay", "0.2", "--task-timeout", "1"])
        #expect(eventually { Set(run.workerPIDsFromOutput).count == 2 })
        let victim = try #require(run.workerPIDsFromOutput.first)
        #expect(kill(victim, SIGSTOP) == 0)
        let ended = eventually(within: 120) { !run.process.isRunning }
        if !ended { kill(run.pid, SIGKILL) }
        #expect(ended, "the run ended")
        run.waitForExit()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasSuffix("Sum of sums of 'a' and 'b' is 820\nSum of products of 'a' and 'b' is 7070\n"))
        #expect(!processExists(victim))
    }

    @Test("--task-timeout takes positive seconds", arguments: ["0", "-1", "nan", "x"])
    func badTaskTimeout(value: String) throws {
        let run = try ChildProcess.run(Self.poolmon, ["run", "--task-timeout", value])
        #expect(run.status == 64)
        #expect(run.standardError.contains("task-timeout"))
    }

    @Test("under ulimit -u (as an ordinary user), -v or -n: one clear line and status 71, never a hang",
          arguments: ["nproc", "as", "nofile"])
    func resourceLimits(limit: String) throws {
        let command: String
        let mentions: String
        switch limit {
        case "nproc":
            // RLIMIT_NPROC does not bind root: drop to nobody for it.
            let drop = getuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : ""
            command = "\(drop)prlimit --nproc=4 \"$P\" run --delay 0 --quiet"
            mentions = "ulimit -u"
        case "as":
            command = "prlimit --as=100000000 \"$P\" run --delay 0 --quiet"
            mentions = "ulimit -v"
        default:
            command = "prlimit --nofile=5 \"$P\" run --delay 0 --quiet"
            mentions = "ulimit -n"
        }
        let run = try bash(command, timeout: .seconds(60))
        #expect(run.status == 71, "\(run.standardError)")
        #expect(errorLines(run).count == 1, "\(run.standardError)")
        #expect(run.standardError.contains(mentions), "\(run.standardError)")
        #expect(run.standardOutput.isEmpty)
    }

    // MARK: class 8: closed and odd descriptors

    @Test("with standard output closed (and standard input too), run says so and fails with 74",
          arguments: ["<&- >&-", ">&-"])
    func closedStandardOutput(redirections: String) throws {
        let run = try bash("exec \"$P\" run --delay 0 --quiet \(redirections)")
        #expect(run.status == 74, "\(run.standardError)")
        #expect(errorLines(run) == ["poolmon: standard output is closed: there is nowhere to write the results"])
    }

    @Test("a failed write of the totals (a full disk) is reported in one line with status 74")
    func fullDisk() throws {
        let run = try bash("exec \"$P\" run --delay 0 --quiet > /dev/full")
        #expect(run.status == 74, "\(run.standardError)")
        #expect(errorLines(run).count == 1)
        #expect(run.standardError.contains("cannot write the results"))
        #expect(run.standardError.contains("No space left on device"))
    }

    @Test("run | head -1 stops as soon as head is gone: status 141, workers reaped")
    func brokenPipe() throws {
        // 1000 one-second items on two workers would run for over eight minutes.
        let run = try bash("\"$P\" run --workers 2 --count 1000 --delay 1 | head -1; echo \"STATUS=${PIPESTATUS[0]}\"",
                           timeout: .seconds(120))
        let lines = run.standardOutput.split(separator: "\n")
        #expect(lines.count == 2, "\(run.standardOutput)")
        #expect(lines.last == "STATUS=141", "\(run.standardOutput) \(run.standardError)")
        #expect(run.standardError.contains("broken pipe"))
        let worker = try #require(lines.first.flatMap { Int32($0.split(separator: " ")[1]) })
        #expect(eventually(within: 10) { !processExists(worker) }, "the worker was reaped")
    }

    // MARK: class 9: messages that say what is wrong

    @Test("PROCESSPOOL_WORKER_PARENT set by hand: run says what is wrong and how to fix it")
    func workerVariableSetByHand() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["PROCESSPOOL_WORKER_PARENT"] = "1"
        let run = try ChildProcess.run(Self.poolmon, ["run", "--delay", "0"], environment: environment)
        #expect(run.status == 70)
        #expect(run.standardError.contains("PROCESSPOOL_WORKER_PARENT is set"))
        #expect(run.standardError.contains("unset PROCESSPOOL_WORKER_PARENT"))
    }

    @Test("replay of a FIFO or a device: not a regular file, status 66, without blocking or reading forever",
          arguments: ["fifo", "/dev/zero", "/dev/null"])
    func replayOfNonFiles(what: String) throws {
        var path = what
        if what == "fifo" {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("poolmon-fifo-\(UUID().uuidString)").path
            #expect(mkfifo(path, 0o600) == 0)
        }
        defer { if what == "fifo" { unlink(path) } }
        let run = try ChildProcess.run(Self.poolmon, ["replay", path], timeout: .seconds(30))
        #expect(run.status == 66)
        #expect(run.standardError.contains("not a regular file"), "\(run.standardError)")
        #expect(run.standardError.contains(path))
        #expect(!run.standardError.contains("permission"))
    }

    @Test("out of descriptors for the workers: the message says too many open files and names the limit")
    func outOfDescriptors() throws {
        let run = try bash("prlimit --nofile=20 \"$P\" run --delay 0 --quiet --workers 4", timeout: .seconds(60))
        #expect(run.status == 71, "\(run.standardError)")
        #expect(run.standardError.contains("too many open files (EMFILE)"), "\(run.standardError)")
        #expect(run.standardError.contains("ulimit -n"))
        #expect(!run.standardError.contains("Bad file descriptor"))
    }
}

/// Measures an item's encoded size.
struct WireWriterProbe {
    mutating func size(of item: DemoItem) -> Int {
        var writer = WireWriter()
        item.encode(to: &writer)
        return writer.bytes.count
    }
}
