import Foundation
import Glibc
import TerminalTestSupport
import Testing

/// Issue 13 end to end: the real `poolmon` in tmux, driven by keys as an htop user would.
@Suite("poolmon as an htop user uses it, in tmux", .serialized)
struct HtopTmuxTests {
    let helpers = MonitorTmuxTests()

    /// The process state letter (`S`, `R`, `T` for stopped) from /proc, nil once it is gone.
    func processState(_ pid: Int32) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(close, offsetBy: 2)...].first
    }

    /// The header's worker count (`workers 3`).
    func headerWorkers(_ screen: String) -> Int? {
        guard let header = screen.split(separator: "\n").first(where: { $0.contains("workers ") }),
              let range = header.range(of: #"workers (\d+)"#, options: .regularExpression) else { return nil }
        return Int(header[range].split(separator: " ")[1])
    }

    @Test("r then + at once: the key is not lost, the new run has 3 workers")
    func keyRightAfterRestart() async throws {
        let scratch = try helpers.scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try helpers.launch(session, "--workers 2 --delay 0.3 --count 20", scratch: scratch)
            _ = try await helpers.waitForTwoBusyWorkers(session)
            // One send-keys: `+` reaches the monitor right behind `r`, before the new pool exists.
            try session.press("r", "+")
            let grown = try await session.waitUntil("three live workers in the new run", timeout: .seconds(30)) { screen in
                helpers.livePIDs(screen).count == 3 && headerWorkers(screen) == 3
            }
            #expect(!grown.contains("next run:"), "nothing left pending")
            try await helpers.expectQuitCleanly(session, scratch: scratch)
        }
    }

    @Test("+ + + - after the run: the header says the next run has 4 workers, and r starts 4")
    func workersAfterTheRun() async throws {
        let scratch = try helpers.scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try helpers.launch(session, "--workers 2 --delay 0.02", scratch: scratch)
            try await session.waitFor("Sum of products of 'a' and 'b' is 935", timeout: .seconds(30))
            try await session.waitFor("FINISHED")
            try session.press("+", "+", "+", "-")
            try await session.waitFor("next run: workers 2 → 4")
            try session.press("r")
            try await session.waitUntil("four live workers", timeout: .seconds(30)) { screen in
                helpers.livePIDs(screen).count == 4 || (screen.contains("FINISHED") && headerWorkers(screen) == 4)
            }
            let after = try await session.waitFor("Sum of products of 'a' and 'b' is 935", timeout: .seconds(30))
            #expect(headerWorkers(after) == 4, "\(after)")
            // The totals show a moment before the pool has closed: a `-` in between resizes the
            // closing pool, not the next run. Press it once the run is over, as above.
            try await session.waitFor("FINISHED")
            try session.press("-")
            try await session.waitFor("next run: workers 4 → 3")
            try await helpers.expectQuitCleanly(session, scratch: scratch)
        }
    }

    @Test("Ctrl-Z stops the workers with the monitor; fg brings both back, redrawn; the terminal is restored at the end")
    func ctrlZ() async throws {
        let scratch = try helpers.scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            // poolmon on a line of its own: bash goes on with the rest of a list when a job stops.
            let before = scratch.appendingPathComponent("stty-before").path
            let after = scratch.appendingPathComponent("stty-after").path
            try session.type("stty -g > \(before)")
            try session.type("\(PoolmonProcess.executable) --workers 2 --delay 0.5 --count 40")
            let screen = try await helpers.waitForTwoBusyWorkers(session)
            let workers = helpers.livePIDs(screen)
            #expect(workers.count == 2)
            try session.press("C-z")
            try await session.waitFor("Stopped")
            if !eventually(within: 20, { workers.allSatisfy { processState($0) == "T" } }) {
                // Seen failing twice in many runs (sessions 4 and 8), never reproduced: say enough
                // to tell a worker left running from one replaced or gone.
                let states = workers.sorted().map { pid in
                    "\(pid): state \(processState(pid).map(String.init) ?? "gone"), parent \(helpers.parent(of: pid).map(String.init) ?? "?")"
                }
                let pane = (try? session.capture()) ?? "(no capture)"
                Issue.record("the workers did not stop with the monitor: \(states); the pane now:\n\(pane)\nbefore Ctrl-Z:\n\(screen)")
            }
            try session.type("fg")
            try await session.waitUntil("the monitor redrawn", timeout: .seconds(20)) { $0.contains("completion order") && $0.contains("RUNNING") }
            #expect(eventually(within: 20) { workers.allSatisfy { let s = processState($0); return s != "T" && s != nil } },
                    "the workers go on")
            try await session.waitFor("Sum of products of 'a' and 'b' is", timeout: .seconds(60))
            try session.press("q")
            try session.type("echo EXIT=$?; stty -g > \(after)")
            try await session.waitFor("EXIT=0")
            try await helpers.expectTerminalRestored(session, scratch: scratch)
        }
    }

    @Test("Ctrl-Z under watch -- python3: the script and its workers stop with the monitor, as a Python script stopped with Ctrl-Z would; fg resumes all")
    func ctrlZWatchingPython() async throws {
        guard let python = PythonForTests.path else { return }
        let watch = WatchProgramTmuxTests()
        try await TmuxSession.withSession(width: 120, height: 40) { session in
            try session.type("\(PoolmonProcess.executable) watch -- \(python) \(PythonForTests.tutorial) 1")
            let screen = try await session.waitUntil("two workers of python3", timeout: .seconds(90)) { screen in
                guard let pid = watch.programPID(screen) else { return false }
                return watch.childWorkers(screen, of: pid).count == 2
            }
            let program = try #require(watch.programPID(screen))
            let workers = watch.childWorkers(screen, of: program)
            try session.press("C-z")
            try await session.waitFor("Stopped")
            #expect(eventually(within: 20) { processState(program) == "T" }, "the script stopped")
            #expect(eventually(within: 20) { workers.allSatisfy { processState($0) == "T" } }, "its workers stopped")
            try session.type("fg")
            try await session.waitUntil("the monitor redrawn", timeout: .seconds(20)) { $0.contains("completion order") }
            #expect(eventually(within: 20) { let s = processState(program); return s != "T" })
            #expect(eventually(within: 20) { workers.allSatisfy { processState($0) != "T" } })
            try session.press("q")
            try session.type("echo DONE=$?")
            try await session.waitFor("DONE=", timeout: .seconds(30))
        }
    }

    @Test("] mid-run re-cuts the running jobs' queued rest at once: the pool says so, the header and the workers' chunks follow")
    func liveRechunk() async throws {
        let scratch = try helpers.scratchDirectory()
        try await TmuxSession.withSession(width: 120, height: 40) { session in
            try helpers.launch(session, "--workers 2 --delay 0.2 --count 60 --chunksize 2", scratch: scratch)
            _ = try await helpers.waitForTwoBusyWorkers(session)
            try session.press("]", "]", "]")
            // Three presses: three re-cuts, the last to chunks of 5.
            try await session.waitFor("of 5", timeout: .seconds(30))
            try await session.waitUntil("the header at chunk 5, nothing pending") { screen in
                screen.contains("chunk 5 ") && !screen.contains("next run:")
            }
            // A chunk of 5 reaches a worker (sum's rest or product's).
            try await session.waitUntil("a worker on a chunk of five", timeout: .seconds(30)) { screen in
                screen.range(of: #"→ worker \d+"#, options: .regularExpression) != nil
                    && screen.range(of: #"\(items (\d+)–(\d+)\) → worker"#, options: .regularExpression).map { range in
                        let numbers = screen[range].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
                        return numbers.count >= 2 && numbers[1] - numbers[0] == 4
                    } ?? false
            }
            try await helpers.expectQuitCleanly(session, scratch: scratch)
        }
    }

    @Test("sort by CPU, then STOP and CONT the selected worker from the signal menu")
    func sortAndSignals() async throws {
        let scratch = try helpers.scratchDirectory()
        try await TmuxSession.withSession(width: 120, height: 40) { session in
            try helpers.launch(session, "--workers 2 --delay 0.5 --count 60", scratch: scratch)
            _ = try await helpers.waitForTwoBusyWorkers(session)
            // Slot → PID → CPU.
            try session.press(">", ">")
            let sorted = try await session.waitUntil("the grid sorted by CPU with CPU% and RSS columns") { screen in
                screen.contains("CPU%▼") && screen.contains("RSS") && screen.contains("by CPU%")
            }
            let target = try #require(helpers.workerRows(sorted).first?.pid)
            try session.press("k")
            try await session.waitFor("send to worker \(target)")
            try session.press("Down", "Down", "Down")
            try session.press("Enter")
            #expect(eventually(within: 20) { processState(target) == "T" }, "SIGSTOP reached the worker")
            try await session.waitUntil("the worker shown stopped") { screen in
                helpers.workerRows(screen).contains { $0.pid == target && $0.state == "stopped" }
            }
            // The menu again: 5 picks CONT at once.
            try session.press("k")
            try await session.waitFor("send to worker \(target)")
            try session.press("5")
            #expect(eventually(within: 20) { let s = processState(target); return s != "T" && s != nil }, "SIGCONT let it go on")
            try session.press("k")
            try await session.waitFor("send to worker")
            try session.press("Escape")
            try await session.waitUntil("the menu closed") { !$0.contains("send to worker") }
            #expect(processState(target) != nil, "Esc sent nothing")
            try await helpers.expectQuitCleanly(session, scratch: scratch)
        }
    }
}
