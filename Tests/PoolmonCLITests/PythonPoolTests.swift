import Foundation
import Glibc
import TerminalTestSupport
import Testing

/// `poolmon run --events FILE -- python3 …`: CPython's multiprocessing.Pool recorded by the
/// instrumentation poolmon injects (PYTHONPATH + sitecustomize), the script's output unchanged.
@Suite("watching a CPython pool, headless")
struct PythonPoolTests {
    func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("poolmon-python-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("a watched worker's own thread blocks SIGTERM, so Pool.terminate's signal reaches the main thread (one blocked on the task queue's lock hung the pool's end)")
    func sigtermReachesWorkersMainThread() async throws {
        guard let python = PythonForTests.path else { return }
        let scratch = try scratch()
        let script = scratch.appendingPathComponent("sleepy.py").path
        let gate = scratch.appendingPathComponent("gate").path
        try """
        import multiprocessing, os, sys, time
        def wait_for_gate(x):
            while not os.path.exists(sys.argv[1]):
                time.sleep(0.02)
            return x
        if __name__ == "__main__":
            with multiprocessing.Pool(2) as pool:
                print(sum(pool.map(wait_for_gate, [1, 2], chunksize=1)))
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let run = try CommandRun(PoolmonProcess.executable, ["run", "--", python, script, gate], in: scratch)
        defer { if run.process.isRunning { _ = run.abandon() } }
        // The workers: python3's children, each with the instrumentation's thread beside its main one.
        func workerThreads() -> [Int32: [Int32]] {
            var threads: [Int32: [Int32]] = [:]
            for pid in CommandRun.descendants(of: run.pid) {
                let tasks = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap { Int32($0) }
                let parent = CommandRun.descendants(of: run.pid).first
                if pid != parent, tasks.count >= 2 { threads[pid] = tasks }
            }
            return threads
        }
        #expect(eventually(within: 90) { workerThreads().count == 2 }, "two workers, each with two threads")
        for (pid, tasks) in workerThreads() {
            for task in tasks {
                let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
                let mask = status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") }
                    .flatMap { UInt64($0.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16) } ?? 0
                let blocksTerm = mask & (1 << (UInt64(SIGTERM) - 1)) != 0
                if task == pid {
                    #expect(!blocksTerm, "worker \(pid)'s main thread takes SIGTERM")
                } else {
                    #expect(blocksTerm, "worker \(pid)'s thread \(task) leaves SIGTERM to the main thread (SigBlk \(String(mask, radix: 16)))")
                }
            }
        }
        FileManager.default.createFile(atPath: gate, contents: nil)
        #expect(run.waitForExit(timeout: .seconds(120)), "the script ends")
        #expect(run.stdout == "3\n", "\(run.stdout) \(run.stderr)")
    }

    @Test("a hung Python program is taken down with its workers, and the report has each Python stack")
    func hungProgramReport() async throws {
        guard let python = PythonForTests.path else { return }
        let scratch = try scratch()
        let script = scratch.appendingPathComponent("hang.py").path
        try """
        import multiprocessing, time
        def stuck_forever(x):
            time.sleep(3600)
        if __name__ == "__main__":
            with multiprocessing.Pool(2) as pool:
                pool.map(stuck_forever, [1, 2])
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let log = scratch.appendingPathComponent("hang.jsonl").path
        let run = try CommandRun(PoolmonProcess.executable, ["run", "--events", log, "--", python, script], in: scratch)
        // Both items have run a while (the instrumentation then announces them): the workers'
        // stacks are in the task when the test gives up.
        #expect(eventually(within: 90) { EventLogLines(path: log).events("itemStarted").count >= 2 }, "both items started")
        let everyone = CommandRun.descendants(of: run.pid)
        #expect(everyone.count >= 3, "python3 and its two workers: \(everyone)")
        #expect(!run.waitForExit(timeout: .milliseconds(200)), "the program hangs")
        let report = run.abandon()
        #expect(report.contains("stuck_forever"), "the workers' Python stacks are in the report:\n\(report)")
        #expect(eventually(within: 30) { everyone.allSatisfy { !CommandRun.isRunning($0) } }, "nothing is left running")
    }

    @Test("the tutorial: its 20 lines and totals unchanged; chunks of 2 dispatched to PIDs that were children of that python3")
    func tutorial() async throws {
        guard let python = PythonForTests.path else { return }
        let scratch = try scratch()
        let log = scratch.appendingPathComponent("events.jsonl").path
        // Without PYTHONUNBUFFERED, as a terminal user has it: an unbuffered print writes the text
        // and its newline separately, and two workers' lines can then interleave (with or without poolmon).
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "PYTHONUNBUFFERED")
        let run = try CommandRun(PoolmonProcess.executable, ["run", "--events", log, "--", python, PythonForTests.tutorial, "0.4"],
                                 environment: environment, in: scratch)
        // While it runs: every worker the log names is a child of the python3 that poolmon started.
        var parents: [Int32: Int32] = [:]
        var programPID: Int32 = -1
        let deadline = ContinuousClock.now + .seconds(240)
        while run.process.isRunning {
            if ContinuousClock.now >= deadline {
                Issue.record("the tutorial did not end within 240 s\n\(run.abandon())")
                return
            }
            let lines = EventLogLines(path: log)
            if let created = lines.events("poolCreated").first { programPID = Int32(EventLogLines.int(created, "pid")) }
            for started in lines.events("workerStarted") {
                let pid = Int32(EventLogLines.int(started, "pid"))
                if parents[pid] == nil, let parent = MonitorTmuxTests().parent(of: pid) { parents[pid] = parent }
            }
            usleep(20_000)
        }
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let output = run.stdout.split(separator: "\n").map(String.init)
        #expect(output.filter { $0.hasPrefix("Worker ") && $0.contains(" is processing ") }.count == 20, "\(run.stdout)")
        #expect(output.suffix(2) == ["Sum of sums of 'a' and 'b' is 210", "Sum of products of 'a' and 'b' is 935"])
        #expect(run.stderr.isEmpty, "nothing added on standard error: \(run.stderr)")

        let lines = EventLogLines(path: log)
        let created = try #require(lines.events("poolCreated").first)
        #expect(Int32(EventLogLines.int(created, "pid")) == programPID)
        let submitted = lines.events("jobSubmitted")
        #expect(submitted.map { $0["function"] as? String } == ["sum_", "product"])
        #expect(submitted.allSatisfy { EventLogLines.int($0, "chunksize") == 2 && $0["auto"] as? Bool == true && EventLogLines.int($0, "items") == 10 })
        let dispatched = lines.events("chunkDispatched")
        #expect(dispatched.count == 10, "five chunks per job")
        #expect(dispatched.allSatisfy { EventLogLines.int($0, "count") == 2 })
        let dispatchPIDs = Set(dispatched.map { Int32(EventLogLines.int($0, "pid")) })
        let printed = Set(output.compactMap { line -> Int32? in
            let words = line.split(separator: " ")
            return words.count > 2 && words[0] == "Worker" ? Int32(words[1]) : nil
        })
        #expect(dispatchPIDs == printed, "the PIDs chunks went to are the PIDs the workers print")
        #expect(!dispatchPIDs.isEmpty && dispatchPIDs.allSatisfy { parents[$0] == programPID },
                "each was a child of the python3 poolmon ran (\(programPID)): \(parents)")
        // Every item finished once; both jobs delivered all 10 and completed.
        for job in [0, 1] {
            let finished = lines.events("itemFinished").filter { EventLogLines.int($0, "job") == job }.count
                + lines.events("itemsFinished").filter { EventLogLines.int($0, "job") == job }.map { EventLogLines.int($0, "count") }.reduce(0, +)
            #expect(finished == 10, "job \(job)")
            #expect(lines.events("resultsDelivered").contains { EventLogLines.int($0, "job") == job && EventLogLines.int($0, "count") == 10 })
            #expect(lines.events("jobCompleted").contains { EventLogLines.int($0, "job") == job && $0["error"] == nil })
        }
        #expect(lines.events("workerExited").count == 2)
        #expect(lines.objects.last?["event"] as? String == "poolState")
    }

    static let startMethodScript = """
    import multiprocessing as mp, sys
    def sq(x): return x * x
    def add(a, b): return a + b
    def boom(x):
        if x == 3: raise ValueError("three")
        return x
    if __name__ == "__main__":
        ctx = mp.get_context(sys.argv[1])
        with ctx.Pool(2, maxtasksperchild=3) as pool:
            print("map", sum(pool.map(sq, range(20))))
            print("imap", sum(pool.imap(sq, range(10), chunksize=3)))
            print("unordered", sorted(pool.imap_unordered(sq, range(5))))
            print("starmap", pool.starmap(add, [(1, 2), (3, 4)]))
            print("apply", pool.apply(sq, (7,)))
            try:
                pool.map(boom, range(6), chunksize=2)
            except ValueError as error:
                print("error", error)
        second = ctx.Pool(1)
        print("second", second.map(sq, [1, 2, 3]))
        second.close(); second.join()
    """

    @Test("fork, spawn and forkserver: output unchanged, two pools, every job's items finished and the job completed", arguments: ["fork", "spawn", "forkserver"])
    func startMethods(method: String) async throws {
        guard let python = PythonForTests.path else { return }
        let scratch = try scratch()
        let script = scratch.appendingPathComponent("methods.py")
        try Self.startMethodScript.write(to: script, atomically: true, encoding: .utf8)
        let log = scratch.appendingPathComponent("events.jsonl").path
        // Plain: through ChildProcess, whose children start with a clean signal mask (a Foundation
        // Process inherits the test runner's blocked signals, and the pool's SIGTERM would never land).
        let plain = try ChildProcess.run(python, [script.path, method], timeout: .seconds(120))
        let watched = try CommandRun.run(PoolmonProcess.executable, ["run", "--events", log, "--", python, script.path, method], in: scratch)
        #expect(watched.status == 0, "stderr: \(watched.stderr)")
        #expect(plain.standardOutput == watched.stdout)
        #expect(watched.stdout.contains("map 2470") && watched.stdout.contains("error three") && watched.stdout.contains("second [1, 4, 9]"))
        let lines = EventLogLines(path: log)
        #expect(lines.events("poolCreated").count == 2)
        let jobs = lines.events("jobSubmitted")
        #expect(jobs.map { $0["mode"] as? String } == ["map_async", "imap", "imap_unordered", "starmap", "apply", "map_async", "map_async"])
        let started = Set(lines.events("workerStarted").map { EventLogLines.int($0, "pid") })
        #expect(lines.events("chunkDispatched").allSatisfy { started.contains(EventLogLines.int($0, "pid")) })
        #expect(lines.events("workerExited").contains { $0["reason"] as? String == "maxTasksReached" }, "maxtasksperchild=3 retires workers")
        for job in jobs {
            let id = EventLogLines.int(job, "job")
            let items = EventLogLines.int(job, "items")
            let finished = lines.events("itemFinished").filter { EventLogLines.int($0, "job") == id }.count
                + lines.events("itemsFinished").filter { EventLogLines.int($0, "job") == id }.map { EventLogLines.int($0, "count") }.reduce(0, +)
            // The failing job stops each chunk at its failure (as mapstar does): item 3 fails, 2 never runs.
            if job["function"] as? String == "boom" {
                #expect(lines.events("itemFinished").contains { EventLogLines.int($0, "job") == id && EventLogLines.int($0, "index") == 3 && $0["error"] as? String == "ValueError: three" })
                #expect(lines.events("jobCompleted").contains { EventLogLines.int($0, "job") == id && $0["error"] != nil })
            } else {
                #expect(finished == items, "job \(id) (\(job["mode"] ?? "")): \(finished) of \(items) items finished")
                #expect(lines.events("jobCompleted").contains { EventLogLines.int($0, "job") == id && $0["error"] == nil }, "job \(id) completed")
            }
        }
    }

    @Test("the throughput anchor (pool_throughput.py): map_async, imap, imap_unordered at chunk size 1 and the default, correct and complete in the log",
          arguments: ["map_async", "imap", "imap_unordered"])
    func throughputAnchor(mode: String) async throws {
        guard let python = PythonForTests.path else { return }
        let scratch = try scratch()
        let script = URL(fileURLWithPath: PythonForTests.tutorial).deletingLastPathComponent().appendingPathComponent("pool_throughput.py").path
        for chunksize in ["1", "0"] {
            let log = scratch.appendingPathComponent("events-\(chunksize).jsonl").path
            // The script asserts its own result; 2,000 tiny tasks on 2 workers.
            let run = try CommandRun.run(PoolmonProcess.executable, ["run", "--events", log, "--", python, script, "2000", "2", chunksize, mode], in: scratch)
            #expect(run.status == 0, "\(mode) chunksize \(chunksize): \(run.stderr)")
            #expect(run.stdout.hasPrefix("\(mode) n=2000 workers=2"))
            let lines = EventLogLines(path: log)
            let job = try #require(lines.events("jobSubmitted").first)
            #expect(job["mode"] as? String == mode)
            let finished = lines.events("itemFinished").count + lines.events("itemsFinished").map { EventLogLines.int($0, "count") }.reduce(0, +)
            #expect(finished == 2000, "\(mode) chunksize \(chunksize): every item finished once")
            let delivered = lines.events("resultsDelivered").map { EventLogLines.int($0, "count") }.reduce(0, +)
            #expect(delivered == 2000, "\(mode) chunksize \(chunksize): every result delivered once")
            #expect(lines.events("jobCompleted").count == 1)
            #expect(lines.events("eventsDropped").isEmpty)
        }
    }

    @Test("a user's own sitecustomize still runs, after poolmon's")
    func userSitecustomize() async throws {
        guard let python = PythonForTests.path else { return }
        let scratch = try scratch()
        let site = scratch.appendingPathComponent("site")
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
        try "import builtins\nbuiltins.USER_SITE_RAN = True\nprint('user sitecustomize ran')\n"
            .write(to: site.appendingPathComponent("sitecustomize.py"), atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = site.path
        let code = "import builtins, sitecustomize, multiprocessing.pool as m; print(builtins.USER_SITE_RAN, sitecustomize.__file__.startswith('\(site.path)'), m.worker.__module__)"
        let run = try CommandRun.run(PoolmonProcess.executable, ["run", "--", python, "-c", code], environment: environment, in: scratch)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stdout == "user sitecustomize ran\nTrue True poolmon_cpython\n", "the user's file ran and is the sitecustomize module; the pool is instrumented")
    }

    @Test("a script that uses no pool runs unchanged: output, error output and exit status")
    func noPool() async throws {
        guard let python = PythonForTests.path else { return }
        let scratch = try scratch()
        let script = scratch.appendingPathComponent("plain.py")
        try "import sys\nprint('hello', sys.argv[1:])\nprint('to stderr', file=sys.stderr)\nsys.exit(3)\n"
            .write(to: script, atomically: true, encoding: .utf8)
        let plain = try ChildProcess.run(python, [script.path, "a", "b c"], timeout: .seconds(60))
        let log = scratch.appendingPathComponent("events.jsonl").path
        let watched = try CommandRun.run(PoolmonProcess.executable, ["run", "--events", log, "--", python, script.path, "a", "b c"], in: scratch)
        #expect(watched.stdout == plain.standardOutput && watched.stdout == "hello ['a', 'b c']\n")
        #expect(watched.stderr == plain.standardError)
        #expect(watched.status == 3 && plain.status == 3)
        #expect(EventLogLines(path: log).objects.isEmpty, "no pool, no events")
    }

    @Test("the instrumentation embedded in poolmon is the Python source in the repository (scripts/embed-python.sh)")
    func embeddedSourceMatches() throws {
        let embedded = try String(contentsOf: PythonForTests.sourceDirectory.deletingLastPathComponent()
            .appendingPathComponent("EmbeddedPython.swift"), encoding: .utf8)
        for name in ["poolmon_cpython.py", "sitecustomize.py"] {
            let source = try String(contentsOf: PythonForTests.sourceDirectory.appendingPathComponent(name), encoding: .utf8)
            #expect(embedded.contains("(\"\(name)\", ##\"\"\"\n" + source + "\"\"\"##)"), "\(name) differs: run scripts/embed-python.sh")
        }
    }
}
