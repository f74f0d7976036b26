import Foundation
import Glibc
import TerminalTestSupport
import Testing

/// Scrollback, rewind and step, replay controls, the inspector and the death report, on the real
/// `poolmon` binary in tmux (issue 12's "Done when" among them).
@Suite("history in tmux: scrollback, rewind, replay, inspector", .serialized)
struct HistoryTmuxTests {
    let monitor = MonitorTmuxTests()

    /// Kills the selected worker from the monitor: the one place that knows the key sequence
    /// (today `k`; a signal menu would make it `k` then `Enter`).
    func killSelectedWorker(_ session: TmuxSession) async throws {
        // `k` opens the signal menu with KILL preselected; Enter sends it.
        try session.press("k")
        try await session.waitFor("send to worker")
        try session.press("Enter")
    }

    /// Sends a mouse report as an xterm does (X10: ESC [ M, button+32, column+33, row+33; 64 is
    /// the wheel up, 0 button 1).
    func mouse(_ session: TmuxSession, button: Int, x: Int, y: Int) throws {
        let bytes = [0x1b, 0x5b, 0x4d, 32 + button, 33 + x, 33 + y].map { String($0, radix: 16) }
        try session.run(["send-keys", "-t", TmuxSession.target, "-H"] + bytes)
    }

    func busyCount(_ screen: String) -> Int {
        monitor.workerRows(screen).filter { $0.state == "busy" }.count
    }

    /// The first line of the pane's text matching `pattern`.
    func firstMatch(_ pattern: String, in screen: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
        let range = NSRange(screen.startIndex..., in: screen)
        return regex.firstMatch(in: screen, range: range).flatMap { Range($0.range, in: screen).map { String(screen[$0]) } }
    }

    @Test("done when: kill a worker and read its death report; after the run scroll the pool events back to chunk 1; step back to both workers busy")
    func doneWhen() async throws {
        let scratch = try monitor.scratchDirectory()
        try await TmuxSession.withSession(width: 80, height: 24) { session in
            try monitor.launch(session, "", scratch: scratch)
            let busy = try await monitor.waitForTwoBusyWorkers(session, timeout: .seconds(60))
            let victim = try #require(monitor.workerRows(busy).first?.pid)
            try await killSelectedWorker(session)
            // The selected row is the victim's slot: its death report line names the signal, the
            // item and the chunk that went back to the queue.
            let report = try await session.waitUntil("the death report line", timeout: .seconds(30)) { screen in
                screen.contains("✝ \(victim) SIGKILL") && screen.contains("was on") && screen.contains("requeued")
            }
            #expect(firstMatch(#"was on (sum|product)\(\d+,\d+\)"#, in: report) != nil, "names the item as the tutorial does")
            try session.press("Enter")
            let inspector = try await session.waitFor("back in the queue:")
            #expect(inspector.contains("worker \(victim) died"))
            #expect(inspector.contains("SIGKILL"))
            #expect(inspector.contains("was running"))
            try session.press("Escape")
            try await session.waitUntil("the inspector closed") { !$0.contains("inspector · Esc closes") }

            // After the run: the pool events pane (focused from the start) scrolls back to the first hand-out.
            try await session.waitFor("FINISHED", timeout: .seconds(90))
            try session.press("Home")
            try await session.waitUntil("the pool events at their start") { $0.contains("↓") && $0.contains("more") }
            var found: String?
            for _ in 0..<60 where found == nil {
                let screen = try session.capture()
                found = firstMatch(#"chunk 1 \(items 1–2\) → worker \d+"#, in: screen)
                if found == nil { try await session.pressAndSettle("NPage") }
            }
            #expect(found != nil, "scrolled back to the first chunk 1 (items 1–2) → worker PID")

            // Rewind to the start, then step chunk hand-out by chunk hand-out until both workers are busy.
            try session.press("End")
            try session.press("End")
            // One event back per ←: more presses than the run has events reach its start.
            try session.run(["send-keys", "-t", TmuxSession.target, "-N", "400", "Left"])
            try await session.waitUntil("rewound to the start") { $0.contains("REWOUND") && $0.contains("00:00.") }
            // The first two hand-outs: sum's chunks 1 and 2, to the two workers (still starting).
            for _ in 0..<2 { try session.pressLiteral(".") }
            try await session.waitFor("chunk 2 (items 3–4) → worker")
            // Then event by event until both run their first items.
            var bothBusy = false
            for _ in 0..<40 where !bothBusy {
                let screen = try await session.pressAndSettle("Right")
                bothBusy = screen.contains("REWOUND") && busyCount(screen) == 2
            }
            let busyScreen = try session.capture()
            #expect(busyScreen.contains("sum(1,11)") && busyScreen.contains("sum(3,13)"), "both busy on the first chunks")
            #expect(bothBusy, "stepping through the first hand-outs shows both workers busy")
            let rewound = try session.capture()
            #expect(firstMatch(#"−\d+\.\d s"#, in: rewound) != nil, "the header says how far back")
            // space (or End) returns to live.
            try session.press("Space")
            try await session.waitUntil("live again") { !$0.contains("REWOUND") && $0.contains("FINISHED") }
            try await monitor.expectQuitCleanly(session, scratch: scratch)
        }
    }

    @Test("scrollback: PgUp/Home/End in the focused pane with ↑/↓ N more markers; Tab moves the focus")
    func scrollback() async throws {
        let scratch = try monitor.scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try monitor.launch(session, "--delay 0.05", scratch: scratch)
            try await session.waitFor("FINISHED", timeout: .seconds(90))
            // The totals come last: from then on the layout stays put (the mouse aims at rows).
            try await session.waitFor("Sum of products")
            try await session.waitFor("▸ pool events")
            try session.press("PPage")
            try await session.waitUntil("scrolled back") { $0.contains("↓") && $0.contains("End follows") }
            try session.press("End")
            try await session.waitUntil("following again") { !$0.contains("End follows") }
            try session.press("Tab")
            try await session.waitFor("▸ workers")
            try session.press("BTab")
            try await session.waitFor("▸ pool events")
            // The mouse (xterm's X10 report): a wheel turn up over the pool events scrolls them,
            // a press on the workers' title focuses that pane.
            let lines = try session.capture().split(separator: "\n", omittingEmptySubsequences: false)
            let eventsRow = try #require(lines.firstIndex { $0.contains("▸ pool events") }) + 1
            try mouse(session, button: 64, x: 10, y: eventsRow)
            try await session.waitFor("End follows")
            let workersTitle = try #require(lines.firstIndex { $0.contains("─ workers ") })
            try mouse(session, button: 0, x: 10, y: workersTitle)
            try await session.waitFor("▸ workers")
            // The completion order (next after the workers): pick the newest finished item and inspect it.
            try session.press("Tab")
            try await session.waitFor("▸ completion order")
            try session.press("Up")
            try await session.waitFor("Enter inspects")
            try session.press("Enter")
            let inspector = try await session.waitFor("attempt 1")
            #expect(inspector.contains("1-based"))
            #expect(inspector.contains("map_async: with all the rest at the end"))
            #expect(firstMatch(#"item product\(\d+,\d+\)"#, in: inspector) != nil, "the call as the tutorial writes it")
            try session.press("Escape")
            try await session.waitUntil("the inspector closed") { !$0.contains("inspector · Esc closes") }
            try await monitor.expectQuitCleanly(session, scratch: scratch)
        }
    }

    @Test("replay: says REPLAY, steps and changes speed, and refuses the live-only keys with a reason")
    func replayControls() async throws {
        let scratch = try monitor.scratchDirectory()
        let log = scratch.appendingPathComponent("run.jsonl").path
        let run = try ChildProcess.run(PoolmonProcess.executable, ["run", "--delay", "0.05", "--events", log])
        #expect(run.status == 0)
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try monitor.launch(session, "replay --speed 2 \(log)", scratch: scratch)
            let screen = try await session.waitFor("REPLAY")
            #expect(screen.contains("×2"))
            #expect(!screen.contains("+/- workers"), "the key bar leaves out keys for a live pool")
            try session.pressLiteral("+")
            try await session.waitFor("there is no live pool to change")
            try session.pressLiteral("f")
            try await session.waitFor("×4")
            try await session.waitFor("replay of")
            try session.press("Left")
            try await session.waitFor("REWOUND")
            try session.press("Space")
            try await session.waitUntil("live again") { !$0.contains("REWOUND") }
            try await monitor.expectQuitCleanly(session, scratch: scratch)
        }
    }
}
