import Foundation
import Glibc
import TerminalTestSupport
import Testing

/// `poolmon watch -- CMD` and `poolmon attach` on a program that uses ProcessPool as a user's
/// program does (`WatchedProgram`, a separate executable that depends only on the library): the
/// real binaries in a real terminal, with real processes checked in /proc.
@Suite("watching a user's program in tmux", .serialized)
struct WatchProgramTmuxTests {
    static let program: String = URL(fileURLWithPath: PoolmonProcess.executable)
        .deletingLastPathComponent().appendingPathComponent("WatchedProgram").path

    let helpers = MonitorTmuxTests()

    func scratch() throws -> URL { try helpers.scratchDirectory() }

    /// The watched program started in the background, its output in a file.
    final class Program {
        let process = Process()
        init(_ arguments: [String], output: URL) throws {
            FileManager.default.createFile(atPath: output.path, contents: nil)
            process.executableURL = URL(fileURLWithPath: WatchProgramTmuxTests.program)
            process.arguments = arguments
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = try FileHandle(forWritingTo: output)
            process.standardError = process.standardOutput
            try process.run()
        }
        var pid: Int32 { process.processIdentifier }
        func waitForExit() { process.waitUntilExit() }
    }

    /// The PID the header names as the pool's process (`pool 1 of pid 1234`).
    func programPID(_ screen: String) -> Int32? {
        guard let range = screen.range(of: " of pid ") else { return nil }
        return Int32(screen[range.upperBound...].prefix { $0.isNumber })
    }

    /// The live worker PIDs on screen that are children of `parent`.
    func childWorkers(_ screen: String, of parent: Int32) -> Set<Int32> {
        Set(helpers.livePIDs(screen).filter { helpers.parent(of: $0) == parent })
    }

    @Test("watch -- CMD: its workers (its own children) on screen, + grows its pool, k kills one and it recovers, its output in the pane, its exit status kept")
    func watchProgram() async throws {
        let scratch = try scratch()
        // The program serves rounds until told to stop, so that a loaded machine cannot make it
        // finish before the test has looked.
        let stop = scratch.appendingPathComponent("stop").path
        try await TmuxSession.withSession(width: 120, height: 40) { session in
            try helpers.launch(session, "watch -- \(Self.program) --items 40 --delay 0.2 --exit 3 --serve \(stop)", scratch: scratch)
            let screen = try await helpers.waitForTwoBusyWorkers(session, timeout: .seconds(90))
            #expect(screen.contains("watching \(Self.program)"), "the header names the command")
            let pid = try #require(programPID(screen))
            #expect(helpers.parent(of: pid) != nil, "the program runs")
            let first = childWorkers(screen, of: pid)
            #expect(first.count == 2, "both busy workers are the program's own children: \(first)")
            #expect(screen.contains("squares1") || screen.contains("round"), "the jobs carry the program's labels")

            // + adds a real process to the program's pool.
            try session.press("+")
            let grown = try await session.waitUntil("a third worker of the program") { childWorkers($0, of: pid).count == 3 }
            #expect(grown.contains("resize to 3 workers"))

            // k opens the signal menu (KILL preselected), Enter kills the selected worker; the
            // pool replaces it and the kill shows.
            let victim = try #require(helpers.workerRows(grown).first { $0.state == "busy" }?.pid)
            while helpers.workerRows(try session.capture()).first?.pid != victim { try session.press("Down") }
            try session.press("k")
            try await session.waitFor("send to worker \(victim)")
            try session.press("Enter")
            let recovered = try await session.waitUntil("the killed worker replaced") { screen in
                !processExists(victim) && childWorkers(screen, of: pid).count == 3 && !childWorkers(screen, of: pid).contains(victim)
            }
            #expect(recovered.contains("SIGKILL"), "the death is on screen")

            // The program's own prints are in the output pane.
            #expect(recovered.contains("is processing square("))
            // Told to stop, it ends by itself; its status is shown and the monitor stays until q.
            FileManager.default.createFile(atPath: stop, contents: nil)
            let ended = try await session.waitFor("ended: exit 3", timeout: .seconds(90))
            #expect(ended.contains("FINISHED"))
            #expect(ended.contains("done"), "the program's last line is in the pane")
            #expect(!ended.contains("WRONG"), "every round right despite the kill")
            try session.press("q")
            try await session.waitFor("EXIT=3")
            try await helpers.expectTerminalRestored(session, scratch: scratch)
        }
    }

    @Test("q while the program runs stops it (SIGTERM) and poolmon exits with its status; nothing is left behind")
    func quitStopsProgram() async throws {
        let scratch = try scratch()
        let never = scratch.appendingPathComponent("never").path
        try await TmuxSession.withSession(width: 110, height: 32) { session in
            try helpers.launch(session, "watch -- \(Self.program) --items 6 --delay 0.3 --serve \(never)", scratch: scratch)
            let screen = try await helpers.waitForTwoBusyWorkers(session, timeout: .seconds(90))
            let pid = try #require(programPID(screen))
            let workers = childWorkers(screen, of: pid)
            try session.press("q")
            try await session.waitFor("EXIT=143")
            #expect(!processExists(pid), "the program was stopped")
            #expect(eventually { workers.allSatisfy { !processExists($0) } }, "its workers died with it")
            try await helpers.expectTerminalRestored(session, scratch: scratch)
        }
    }

    @Test("a program's pools one after another: each appears, n switches between them")
    func severalPools() async throws {
        let scratch = try scratch()
        try await TmuxSession.withSession(width: 110, height: 32) { session in
            try helpers.launch(session, "watch -- \(Self.program) --pools 2 --items 4 --delay 0.3", scratch: scratch)
            try await session.waitUntil("the second pool shown", timeout: .seconds(60)) { screen in
                screen.contains("(2/2 n next)") && screen.contains("squares2") && screen.contains("pool 2 of pid")
            }
            try session.press("n")
            let first = try await session.waitFor("pool 1 of pid")
            #expect(first.contains("squares1") && first.contains("(1/2"))
            try await session.waitFor("ended: exit 0", timeout: .seconds(60))
            try session.press("q")
            try await session.waitFor("EXIT=0")
        }
    }

    @Test("keys that cannot act on a program's pool say so")
    func keysThatCannotAct() async throws {
        let scratch = try scratch()
        try await TmuxSession.withSession(width: 110, height: 32) { session in
            try helpers.launch(session, "watch -- \(Self.program) --items 20 --delay 0.3", scratch: scratch)
            _ = try await helpers.waitForTwoBusyWorkers(session, timeout: .seconds(90))
            try session.press("r")
            try await session.waitFor("poolmon cannot restart it")
            try session.press("m")
            try await session.waitFor("poolmon cannot change them")
            // The running job has Python's chunk size for 20 items on 2 workers, 3: one more is 4.
            try session.press("]")
            try await session.waitFor("chunk size for the next jobs: 4: done")
            try session.press("q")
            try await session.waitFor("EXIT=143")
        }
    }

    @Test("attach, + and q: the program keeps running, unharmed, with the pool the monitor left it")
    func attachAndDetach() async throws {
        let scratch = try scratch()
        let stop = scratch.appendingPathComponent("stop").path
        let log = scratch.appendingPathComponent("rounds").path
        let program = try Program(["--attachable", "--items", "4", "--delay", "0.2", "--serve", stop, "--log", log],
                                  output: scratch.appendingPathComponent("output"))
        defer {
            FileManager.default.createFile(atPath: stop, contents: nil)
            program.waitForExit()
        }
        #expect(eventually { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("round 1 ok") })
        try await TmuxSession.withSession(width: 110, height: 32) { session in
            try helpers.launch(session, "attach \(program.pid)", scratch: scratch)
            let screen = try await helpers.waitForTwoBusyWorkers(session, timeout: .seconds(90))
            #expect(screen.contains("attached \(Self.program)"))
            #expect(childWorkers(screen, of: program.pid).count == 2)
            try session.press("+")
            try await session.waitUntil("a third worker") { childWorkers($0, of: program.pid).count == 3 }
            try session.press("q")
            try await session.waitFor("EXIT=0")
            try await helpers.expectTerminalRestored(session, scratch: scratch)
        }
        // Detached: the program goes on, its pool working, with three workers.
        #expect(processExists(program.pid))
        let rounds = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let before = rounds.split(separator: "\n").count
        #expect(eventually {
            let now = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
            return now.count >= before + 2 && now.last?.hasSuffix("ok workers 3") == true
        }, "rounds go on after the monitor left")
        #expect(!rounds.contains("WRONG"))
    }

    @Test("attach with no PID lists the attachable pools; without a terminal it only lists")
    func attachList() async throws {
        let scratch = try scratch()
        let stop = scratch.appendingPathComponent("stop").path
        let program = try Program(["--attachable", "--items", "2", "--delay", "0.2", "--serve", stop],
                                  output: scratch.appendingPathComponent("output"))
        defer {
            FileManager.default.createFile(atPath: stop, contents: nil)
            program.waitForExit()
        }
        var listing = ""
        #expect(eventually {
            listing = (try? PoolmonProcess.run(["attach"]).stdout) ?? ""
            return listing.contains(" \(program.pid) ")
        })
        let row = listing.split(separator: "\n").first { $0.contains(" \(program.pid) ") }.map(String.init) ?? ""
        #expect(row.contains("WatchedProgram") && row.contains("swift"))
        let missing = try PoolmonProcess.run(["attach", "999999"])
        #expect(missing.status != 0 && missing.stderr.contains("no attachable pool"))
    }

    @Test("SIGKILL of the monitor leaves the program's pool running, never blocked")
    func monitorKilled() async throws {
        let scratch = try scratch()
        let stop = scratch.appendingPathComponent("stop").path
        let log = scratch.appendingPathComponent("rounds").path
        try await TmuxSession.withSession(width: 110, height: 32) { session in
            try helpers.launch(session, "watch -- \(Self.program) --items 4 --delay 0.1 --serve \(stop) --log \(log)", scratch: scratch)
            let screen = try await helpers.waitForTwoBusyWorkers(session, timeout: .seconds(90))
            let pid = try #require(programPID(screen))
            let monitor = try #require(helpers.parent(of: pid))
            kill(monitor, SIGKILL)
            #expect(eventually { !processExists(monitor) })
            let count = { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count }
            let before = count()
            #expect(eventually { count() >= before + 3 }, "the pool goes on with its rounds")
            #expect(processExists(pid))
            FileManager.default.createFile(atPath: stop, contents: nil)
            #expect(eventually { !processExists(pid) }, "and ends normally when asked")
        }
    }
}
