import Foundation
import Glibc
import TerminalTestSupport
import Testing

/// `poolmon watch -- python3 asyncmap_py3.py`: CPython's own pool on the monitor, in a real
/// terminal, its worker PIDs checked in /proc.
@Suite("watching a CPython pool in tmux", .serialized)
struct PythonPoolTmuxTests {
    let helpers = MonitorTmuxTests()
    let watch = WatchProgramTmuxTests()

    /// A screen where the program's two workers are on screen, children of python3
    /// (patient: on a loaded machine Python starts slowly).
    func waitForWorkers(_ session: TmuxSession) async throws -> String {
        try await session.waitUntil("two workers of python3", timeout: .seconds(90)) { screen in
            guard let pid = watch.programPID(screen) else { return false }
            return watch.childWorkers(screen, of: pid).count == 2
        }
    }

    @Test("the tutorial under watch: its workers (children of python3), both jobs, the completion order, the totals, exit 0")
    func tutorial() async throws {
        guard let python = PythonForTests.path else { return }
        let scratch = try helpers.scratchDirectory()
        try await TmuxSession.withSession(width: 120, height: 40) { session in
            try helpers.launch(session, "watch -- \(python) \(PythonForTests.tutorial) 1", scratch: scratch)
            let screen = try await waitForWorkers(session)
            #expect(screen.contains("cpython"), "the header names the engine")
            let pid = try #require(watch.programPID(screen))
            let workers = watch.childWorkers(screen, of: pid)
            #expect(workers.count == 2, "both workers are children of the python3 poolmon started: \(workers)")
            // The workers show as soon as they start; the jobs follow (on a loaded machine, a
            // while later): wait for them rather than expect them on that first screen.
            let jobs = try await session.waitUntil("both jobs, named by their functions") { $0.contains("sum_") && $0.contains("product") }
            #expect(jobs.contains("chunk 2 (auto)"), "Python's chunk size for 10 items on 2 workers")
            // The prints travel apart from the pool's events: wait for them rather than expect
            // them on the first screen that shows the workers.
            let printed = try await session.waitUntil("the script's own prints in the output pane") { screen in
                workers.contains { screen.contains("Worker \($0) is processing") }
            }
            let ended = try await session.waitFor("ended: exit 0", timeout: .seconds(90))
            // Chunks of two complete in whatever order the two workers finish them (CPython's own).
            let order = ended.split(separator: "\n").first { $0.contains("sum_") && $0.contains("finished") }.map(String.init) ?? ""
            #expect(["1 2", "3 4", "5 6", "7 8", "9 10"].allSatisfy { order.contains($0) } && order.components(separatedBy: " │ ").count == 5,
                    "sum_'s items completed in five chunks of two: \(order)")
            #expect(ended.contains("10/10"), "both jobs complete")
            #expect(ended.contains("Sum of sums of 'a' and 'b' is 210") && ended.contains("Sum of products of 'a' and 'b' is 935"))
            // Who wrote each line: a worker's print is credited to that worker (its PID marks the
            // line, WorkerOutputTag), the script's own to python3, and no mark is left on screen.
            // (The screen that showed the prints is among them: by the end, the pane may have
            // scrolled past every worker's line.)
            let lines = (screen + "\n" + printed + "\n" + ended).split(separator: "\n").map(String.init)
            #expect(lines.contains { line in workers.contains { line.range(of: "│ \($0) +Worker \($0) is processing", options: .regularExpression) != nil } },
                    "a worker's own print is credited to it: \(lines.filter { $0.contains("Worker") })")
            #expect(lines.contains { $0.range(of: "│ \(pid) +Sum of products", options: .regularExpression) != nil },
                    "the script's own print is credited to python3 (\(pid))")
            #expect(!ended.contains("7771;"), "no worker mark is left in the output pane")
            try session.press("q")
            try await session.waitFor("EXIT=0")
            try await helpers.expectTerminalRestored(session, scratch: scratch)
        }
    }

    @Test("output the script sends elsewhere is never marked: workers writing to a file write exactly their text")
    func redirectedOutputUnmarked() async throws {
        guard let python = PythonForTests.path else { return }
        let scratch = try helpers.scratchDirectory()
        let file = scratch.appendingPathComponent("out.txt").path
        try await TmuxSession.withSession(width: 120, height: 40) { session in
            try helpers.launch(session, "watch -- sh -c '\(python) \(PythonForTests.tutorial) 0 > \(file) 2>&1'", scratch: scratch)
            try await session.waitFor("ended: exit 0", timeout: .seconds(90))
            try session.press("q")
            try await session.waitFor("EXIT=0")
        }
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.contains("Worker ") && text.contains("is 935"), "the script ran and wrote its lines: \(text)")
        #expect(!text.contains("\u{1B}"), "no worker mark in a file the script wrote: \(text.debugDescription)")
    }

    @Test("keys on a CPython pool: + adds a real worker, - is refused with the reason, k kills one and the lost chunk is said to hang the job (python/cpython#66587)")
    func keys() async throws {
        guard let python = PythonForTests.path else { return }
        let scratch = try helpers.scratchDirectory()
        try await TmuxSession.withSession(width: 120, height: 40) { session in
            try helpers.launch(session, "watch -- \(python) \(PythonForTests.tutorial) 1", scratch: scratch)
            let screen = try await waitForWorkers(session)
            let pid = try #require(watch.programPID(screen))

            try session.press("+")
            let grown = try await session.waitUntil("a third worker of python3") { watch.childWorkers($0, of: pid).count == 3 }
            #expect(grown.contains("resize to 3 workers"))
            try session.press("-")
            try await session.waitFor("a CPython pool only grows")

            // k on a busy worker (it holds a chunk): CPython starts a replacement; the chunk is lost for good.
            func selected() throws -> (pid: Int32, state: String)? {
                let row = try session.capture().split(separator: "\n").first { $0.contains("▶") }.map(String.init) ?? ""
                return helpers.workerRows(row).first
            }
            var presses = 0
            while try selected()?.state != "busy" && presses < 6 {
                try await session.pressAndSettle("Down")
                presses += 1
            }
            let target = try #require(try selected()).pid
            try session.press("k")
            try await session.waitFor("send to worker \(target)")
            try session.press("Enter")
            let fault = try await session.waitFor("python/cpython#66587", timeout: .seconds(30))
            #expect(fault.contains("will never complete"))
            #expect(eventually { !processExists(target) }, "the selected worker was killed")
            try await session.waitUntil("a replacement worker") { screen in
                let children = watch.childWorkers(screen, of: pid)
                return children.count == 3 && !children.contains(target)
            }
            try session.press("q")
            try await session.waitFor("EXIT=143", timeout: .seconds(30))
            #expect(eventually { !processExists(pid) }, "q stopped the program")
        }
    }
}
