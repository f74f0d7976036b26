import Foundation
import Glibc
import TerminalTestSupport
import Testing

/// The monitor end to end: the real `poolmon` binary in a real terminal (tmux), driven by keys.
@Suite("poolmon watch in tmux", .serialized)
struct MonitorTmuxTests {
    /// Starts `poolmon ARGS` in the session's shell, recording the terminal settings before and
    /// after and the exit status.
    func launch(_ session: TmuxSession, _ arguments: String, scratch: URL) throws {
        let before = scratch.appendingPathComponent("stty-before").path
        let after = scratch.appendingPathComponent("stty-after").path
        try session.type("stty -g > \(before); \(PoolmonProcess.executable) \(arguments); echo EXIT=$?; stty -g > \(after)")
    }

    func scratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("poolmon-tmux-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The PIDs in the worker rows of the screen, with their state words.
    func workerRows(_ screen: String) -> [(pid: Int32, state: String)] {
        screen.split(separator: "\n").compactMap { line in
            // The first number followed by a state word: wide screens put a slot column first.
            let words = line.split(separator: " ").filter { $0 != "│" && $0 != "▶" }
            let states = ["starting", "idle", "busy", "retiring", "exited", "stalled", "stopped"]
            guard let position = words.indices.dropLast().first(where: { Int32(words[$0]) != nil && states.contains(String(words[$0 + 1])) }),
                  position <= 1, let pid = Int32(words[position]) else { return nil }
            return (pid, String(words[position + 1]))
        }
    }

    func waitForTwoBusyWorkers(_ session: TmuxSession, timeout: Duration = .seconds(20)) async throws -> String {
        try await session.waitUntil("two busy workers", timeout: timeout) { screen in
            workerRows(screen).filter { $0.state == "busy" }.count == 2
        }
    }

    func livePIDs(_ screen: String) -> Set<Int32> {
        Set(workerRows(screen).filter { $0.state != "exited" }.map(\.pid))
    }

    /// The parent PID of a process, from /proc.
    func parent(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    func expectQuitCleanly(_ session: TmuxSession, scratch: URL) async throws {
        try session.press("q")
        try await session.waitFor("EXIT=0")
        try await expectTerminalRestored(session, scratch: scratch)
    }

    /// The shell saved the terminal settings again after poolmon, and they match those before.
    func expectTerminalRestored(_ session: TmuxSession, scratch: URL) async throws {
        // The shell creates the file before stty writes to it: wait for the whole line.
        try await session.waitUntil("the terminal settings to be saved again") { _ in
            let saved = try? String(contentsOf: scratch.appendingPathComponent("stty-after"), encoding: .utf8)
            return saved?.hasSuffix("\n") == true
        }
        let before = try String(contentsOf: scratch.appendingPathComponent("stty-before"), encoding: .utf8)
        let after = try String(contentsOf: scratch.appendingPathComponent("stty-after"), encoding: .utf8)
        #expect(!before.isEmpty)
        #expect(before == after, "stty settings are restored")
    }

    @Test("the tutorial's workers are real child processes; + adds one; q exits 0 and restores the terminal")
    func workersAndGrow() async throws {
        let scratch = try scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "--workers 2 --delay 0.5 --count 40", scratch: scratch)
            let screen = try await waitForTwoBusyWorkers(session)
            #expect(screen.contains("map_async"))
            #expect(screen.contains("chunk 5 (auto)"), "divmod(40, 8) = 5")
            #expect(screen.contains("sum(") || screen.contains("product("), "busy rows name the task")
            let first = livePIDs(screen)
            let someWorker = try #require(first.first)
            let monitorPID = try #require(parent(of: someWorker))
            for pid in first {
                #expect(parent(of: pid) == monitorPID, "worker \(pid) is a child of the monitor")
                #expect(pid != monitorPID)
            }
            let cmdline = (try? String(contentsOfFile: "/proc/\(monitorPID)/cmdline", encoding: .utf8)) ?? ""
            #expect(cmdline.contains("poolmon"))

            try session.press("+")
            let grown = try await session.waitUntil("a third worker") { livePIDs($0).count == 3 }
            #expect(grown.contains("workers 3"))
            let added = livePIDs(grown).subtracting(first)
            #expect(added.count == 1)
            #expect(added.allSatisfy { parent(of: $0) == monitorPID })

            try await expectQuitCleanly(session, scratch: scratch)
            for pid in livePIDs(grown) { #expect(kill(pid, 0) != 0 || parent(of: pid) != monitorPID, "worker \(pid) is gone") }
        }
    }

    @Test("] then r restarts with a larger chunk, visible in the completion order")
    func chunkUpAndRestart() async throws {
        let scratch = try scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "--workers 2 --delay 0.05", scratch: scratch)
            try await session.waitFor("Sum of products of 'a' and 'b' is 935")
            let finished = try session.capture()
            #expect(finished.contains("Sum of sums of 'a' and 'b' is 210"))
            #expect(finished.contains("1 2 │"), "chunks of two: \(finished)")
            try session.press("]")
            try await session.waitFor("next run")
            try session.press("r")
            // The header shows the pending "chunk 3" before `r` lands: wait for the new run's own
            // evidence, 10 items in 4 chunks of 3, for both jobs.
            let rerun = try await session.waitUntil("the rerun to finish with chunks of 3") { screen in
                screen.components(separatedBy: "chunks 4/4").count == 3
                    && screen.contains("Sum of products of 'a' and 'b' is 935")
            }
            #expect(rerun.contains("1 2 3 │") || rerun.contains("│ 1 2 3"), "a chunk of three in the completion order:\n\(rerun)")
            #expect(rerun.contains("chunks 4/4"), "10 items in chunks of 3 make 4 chunks")
            try await expectQuitCleanly(session, scratch: scratch)
        }
    }

    @Test("r in the middle of a run starts a clean new run: nothing of the old one leaks in")
    func restartMidRun() async throws {
        let scratch = try scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "--workers 2 --delay 0.5 --count 40", scratch: scratch)
            let first = try await waitForTwoBusyWorkers(session)
            let oldPIDs = livePIDs(first)
            try session.press("]")
            try session.press("r")
            let fresh = try await session.waitUntil("the new run busy with chunks of 6") { screen in
                screen.contains("chunk 6") && livePIDs(screen).count == 2 && livePIDs(screen).isDisjoint(with: oldPIDs)
                    && workerRows(screen).filter { $0.state == "busy" }.count == 2
            }
            #expect(fresh.contains("RUNNING"))
            #expect(!fresh.contains("TERMINATED"))
            #expect(!fresh.contains("run failed"))
            #expect(!fresh.contains("exited"), "the old run's workers are not in the new run's grid")
            try await expectQuitCleanly(session, scratch: scratch)
        }
    }

    @Test("k opens the signal menu with KILL preselected; Enter kills the selected worker and a new PID replaces it")
    func killWorker() async throws {
        let scratch = try scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "--workers 2 --delay 1 --count 40", scratch: scratch)
            let screen = try await waitForTwoBusyWorkers(session)
            let before = livePIDs(screen)
            let selected = try #require(workerRows(screen).first?.pid)
            try session.press("k")
            let menu = try await session.waitFor("send to worker \(selected)")
            for name in ["KILL", "TERM", "INT", "STOP", "CONT"] { #expect(menu.contains(name)) }
            #expect(kill(selected, 0) == 0, "the menu only offers: nothing is sent before Enter")
            try session.press("Enter")
            let after = try await session.waitUntil("a replacement worker") { screen in
                let live = livePIDs(screen)
                return live.count == 2 && !live.contains(selected) && !live.isSubset(of: before)
            }
            #expect(after.contains("\(selected)"), "the killed worker stays listed as exited")
            #expect(kill(selected, 0) != 0, "the killed worker is gone")
            try await expectQuitCleanly(session, scratch: scratch)
        }
    }

    @Test("a resize to 40×10 shows the too-small screen, which still answers; back to full size")
    func resize() async throws {
        let scratch = try scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "--workers 2 --delay 0.5", scratch: scratch)
            try await session.waitFor("completion order")
            try session.resize(width: 40, height: 10)
            // One condition, not a wait and then a second look: a resize repaints the whole
            // screen, and a capture can land halfway through it.
            try await session.waitUntil("the too-small screen naming 40×10") { small in
                small.contains("too small") && (small.contains("40×10") || small.contains("40x10"))
            }
            try session.resize(width: 100, height: 30)
            try await session.waitFor("completion order")
            try await expectQuitCleanly(session, scratch: scratch)
        }
    }

    @Test("Ctrl-C, SIGTERM and SIGHUP restore the terminal, reap the workers and exit with 128 + signal",
          arguments: ["C-c", "TERM", "HUP"])
    func signals(how: String) async throws {
        let scratch = try scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "--workers 2 --delay 1 --count 40", scratch: scratch)
            let screen = try await waitForTwoBusyWorkers(session)
            let workers = livePIDs(screen)
            let someWorker = try #require(workers.first)
            let monitorPID = try #require(parent(of: someWorker))
            let status: Int32
            switch how {
            case "C-c":
                try session.press("C-c")
                status = 128 + SIGINT
            case "HUP":
                #expect(kill(monitorPID, SIGHUP) == 0)
                status = 128 + SIGHUP
            default:
                #expect(kill(monitorPID, SIGTERM) == 0)
                status = 128 + SIGTERM
            }
            try await session.waitFor("EXIT=\(status)")
            try await expectTerminalRestored(session, scratch: scratch)
            for pid in workers { #expect(kill(pid, 0) != 0 || parent(of: pid) != monitorPID, "worker \(pid) was reaped") }
        }
    }

    @Test("--loop starts the run again after it ends")
    func loop() async throws {
        let scratch = try scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "--workers 2 --delay 0.02 --loop", scratch: scratch)
            let first = try await session.waitFor("Sum of products of 'a' and 'b' is 935")
            let firstPIDs = livePIDs(first).union(workerRows(first).map(\.pid))
            // A new run has new worker processes.
            try await session.waitUntil("a second run with new workers") { screen in
                let pids = Set(workerRows(screen).map(\.pid))
                return !pids.isEmpty && pids.isDisjoint(with: firstPIDs)
            }
            try await session.waitFor("Sum of products of 'a' and 'b' is 935")
            try await expectQuitCleanly(session, scratch: scratch)
        }
    }

    @Test("replay plays a recorded run into the monitor")
    func replay() async throws {
        let scratch = try scratchDirectory()
        let log = scratch.appendingPathComponent("run.jsonl").path
        let recorded = try PoolmonProcess.run(["run", "--workers", "2", "--delay", "0.05", "--quiet", "--events", log])
        #expect(recorded.status == 0)
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "replay \(log) --speed 4", scratch: scratch)
            let screen = try await session.waitFor("replay of")
            #expect(screen.contains("chunks 5/5"))
            #expect(screen.contains("1 2 │"))
            try await expectQuitCleanly(session, scratch: scratch)
        }
    }

    @Test("without a terminal the monitor says so and points to poolmon run")
    func noTerminal() throws {
        let output = try ChildProcess.run(PoolmonProcess.executable, ["--workers", "1"], input: .closedPipe)
        #expect(output.status == 64)
        #expect(output.standardError.contains("needs a terminal"))
        #expect(output.standardError.contains("poolmon run"))
    }

    @Test("replay of a missing file exits 66; of a corrupt one 64, naming the line")
    func replayErrors() throws {
        let missing = try ChildProcess.run(PoolmonProcess.executable, ["replay", "/nonexistent/run.jsonl"])
        #expect(missing.status == 66)
        #expect(missing.standardError.contains("/nonexistent/run.jsonl"))
        let directory = try ChildProcess.run(PoolmonProcess.executable, ["replay", "/tmp"])
        #expect(directory.status == 66, "a directory is unreadable input")
        #expect(directory.standardError.contains("/tmp"))
        let scratch = try scratchDirectory()
        let corrupt = scratch.appendingPathComponent("bad.jsonl")
        try Data("{\"v\":1,\"t\":0.1,\"event\":\"poolResized\",\"from\":0,\"to\":2}\nnot json\n".utf8).write(to: corrupt)
        let bad = try ChildProcess.run(PoolmonProcess.executable, ["replay", corrupt.path])
        #expect(bad.status == 64)
        #expect(bad.standardError.contains("line 2"))
        let speed = try ChildProcess.run(PoolmonProcess.executable, ["replay", corrupt.path, "--speed", "0"])
        #expect(speed.status == 64)
    }
}
