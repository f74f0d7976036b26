import Foundation
import Glibc
import ProcessPool
import Testing

/// `poolmon run`: the tutorial, headless, end to end with the real binary.
@Suite("poolmon run")
struct RunCommandTests {
    @Test("the tutorial prints 20 task lines from child processes, chunked in pairs, then the totals")
    func tutorial() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("poolmon-\(UUID().uuidString).jsonl")
        let run = try PoolmonProcess.run(["run", "--workers", "2", "--delay", "0.05", "--events", log.path])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 22)
        #expect(lines.suffix(2) == ["Sum of sums of 'a' and 'b' is 210", "Sum of products of 'a' and 'b' is 935"])
        let taskLines = lines.dropLast(2)
        #expect(Set(taskLines.compactMap { $0.split(separator: " ").last.map(String.init) }).count == 20)

        // The PIDs that printed are the workers the pool started: children of poolmon, not poolmon.
        let events = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { try PoolEvent(jsonLine: String($0)) }
        let started = Set(events.compactMap { if case .workerStarted(_, let pid, _) = $0.kind { pid } else { nil } })
        let printed = Set(run.workerPIDsFromOutput)
        #expect(printed.count == 2)
        #expect(printed.isSubset(of: started))
        #expect(!printed.contains(run.pid))

        // Chunks of two: each worker runs consecutive pairs (1,2), (3,4), ... of each job.
        for pid in printed {
            for job in ["sum", "product"] {
                let xs = taskLines.filter { $0.hasPrefix("Worker \(pid) is processing \(job)(") }.compactMap { line -> Int? in
                    let inside = line.split(separator: "(").last!.split(separator: ",").first!
                    return Int(inside)
                }
                #expect(xs.count % 2 == 0)
                for pair in stride(from: 0, to: xs.count, by: 2) {
                    #expect(xs[pair] % 2 == 1 && xs[pair + 1] == xs[pair] + 1, "worker \(pid) ran \(job) items \(xs)")
                }
            }
        }
        // Sum's chunks were all handed out before product's, as from Python's shared queue.
        let jobOrder = events.compactMap { $0.kind.dispatchedChunks?.job }
        #expect(jobOrder == jobOrder.sorted())
    }

    @Test("every mode gives the tutorial's totals", arguments: ["map_async", "imap", "imap_unordered"])
    func modes(mode: String) throws {
        let run = try PoolmonProcess.run(["run", "--workers", "3", "--delay", "0", "--quiet", "--mode", mode, "--count", "100"])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let a = 1...100
        let sums = a.map { $0 + 100 + $0 }.reduce(0, +)
        let products = a.map { $0 * (100 + $0) }.reduce(0, +)
        #expect(run.stdout == "Sum of sums of 'a' and 'b' is \(sums)\nSum of products of 'a' and 'b' is \(products)\n")
    }

    @Test("invalid values exit with status 64 and one clear line", arguments: [
        (["run", "--workers", "0"], "--workers"),
        (["run", "--workers", "-2"], "--workers"),
        (["run", "--workers", "many"], "workers"),
        (["run", "--chunksize", "0"], "--chunksize"),
        (["run", "--chunksize", "x"], "chunksize"),
        (["run", "--delay", "-1"], "--delay"),
        (["run", "--delay", "nan"], "--delay"),
        (["run", "--count", "-5"], "--count"),
        (["run", "--mode", "fast"], "mode"),
        (["run", "--events", "/nonexistent-dir/log.jsonl"], "/nonexistent-dir/log.jsonl"),
        (["run", "--events", "/proc/version"], "/proc/version"),
        (["run", "--events", "/"], "'/'"),
        (["frobnicate"], "frobnicate"),
        (["run", "--crash-on", "foo:1"], "--crash-on"),
        (["run", "--crash-on", "sum:0"], "--crash-on"),
        (["run", "--crash-on", "sum:11"], "--crash-on"),
    ])
    func invalidInput(arguments: [String], mentions: String) throws {
        let run = try PoolmonProcess.run(arguments)
        #expect(run.status == 64, "\(arguments): status \(run.status), stderr \(run.stderr)")
        let errorLines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errorLines.count == 1, "\(run.stderr)")
        #expect(errorLines.first?.contains(mentions) == true, "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test("killing a worker mid-run still ends with the correct totals")
    func killWorker() throws {
        let run = try PoolmonProcess(["run", "--workers", "2", "--count", "200", "--delay", "0.05"])
        #expect(eventually { run.workerPIDsFromOutput.count >= 4 })
        let victim = try #require(run.workerPIDsFromOutput.last)
        #expect(kill(victim, SIGKILL) == 0)
        run.waitForExit()
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stdout.hasSuffix("Sum of sums of 'a' and 'b' is 80200\nSum of products of 'a' and 'b' is 6706700\n"))
        let pids = Set(run.workerPIDsFromOutput)
        #expect(pids.count >= 3, "a replacement worker took over")
        let processed = run.stdout.split(separator: "\n").filter { $0.contains("is processing") }
        #expect(Set(processed.map { $0.split(separator: " ").last! }).count == 400, "every item ran")
    }

    @Test("a poison item fails only its job, naming the item, the PID and the signal")
    func poisonItem() throws {
        let run = try PoolmonProcess.run(["run", "--workers", "2", "--delay", "0.01", "--quiet", "--crash-on", "sum:7"])
        #expect(run.status == 1)
        #expect(run.stdout == "Sum of products of 'a' and 'b' is 935\n", "the other job completes")
        #expect(run.stderr.contains("Sum of sums of 'a' and 'b' failed"))
        #expect(run.stderr.contains("sum item 7 (index 6)"), "--crash-on sum:7 talks about item 7, as the screens count")
        // Every crash the item took part in is counted, as the monitor's "exits: N crashed" does.
        #expect(run.stderr.contains("killed 4 workers"), "stderr: \(run.stderr)")
        #expect(run.stderr.contains("SIGABRT"))
        #expect(run.stderr.range(of: #"worker \d+"#, options: .regularExpression) != nil)
        #expect(!run.stderr.contains("Program crashed"), "no crash report noise from the deliberate aborts")
    }

    @Test("killing poolmon with SIGKILL leaves no worker alive")
    func killParent() throws {
        let run = try PoolmonProcess(["run", "--workers", "2", "--count", "50", "--delay", "1"])
        #expect(eventually { Set(run.workerPIDsFromOutput).count == 2 })
        let workers = Set(run.workerPIDsFromOutput)
        kill(run.pid, SIGKILL)
        run.waitForExit()
        #expect(eventually(within: 10) { workers.allSatisfy { !processExists($0) } })
    }

    @Test("SIGTERM and SIGINT stop the pool: workers reaped, exit status 128 + signal", arguments: [SIGTERM, SIGINT])
    func terminateParent(signal: Int32) throws {
        let run = try PoolmonProcess(["run", "--workers", "2", "--count", "50", "--delay", "1"])
        #expect(eventually { Set(run.workerPIDsFromOutput).count == 2 })
        let workers = Set(run.workerPIDsFromOutput)
        kill(run.pid, signal)
        run.waitForExit()
        #expect(run.status == 128 + signal)
        for pid in workers { #expect(!processExists(pid)) }
    }
}
