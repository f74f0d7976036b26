import Foundation
import Glibc
import ProcessPool
import TerminalTestSupport
import Testing

/// Event logs and the monitor, end to end in tmux: `watch --events` records every run and keeps
/// the log on `q`; a write error restores the terminal before saying so; `replay` plays logs
/// holding several runs, and `replay --follow` shows a log as it grows.
@Suite("event logs in the monitor (tmux)", .serialized)
struct EventLogTmuxTests {
    func scratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("poolmon-logtmux-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Starts `poolmon ARGS` in the session's shell, saving the terminal settings before and
    /// after, and printing the exit status.
    func launch(_ session: TmuxSession, _ arguments: String, scratch: URL) throws {
        let before = scratch.appendingPathComponent("stty-before").path
        let after = scratch.appendingPathComponent("stty-after").path
        try session.type("stty -g > \(before); \(PoolmonProcess.executable) \(arguments); echo EXIT=$?; stty -g > \(after)")
    }

    func expectTerminalRestored(_ session: TmuxSession, scratch: URL) async throws {
        try await session.waitUntil("the terminal settings to be saved again") { _ in
            let saved = try? String(contentsOf: scratch.appendingPathComponent("stty-after"), encoding: .utf8)
            return saved?.hasSuffix("\n") == true
        }
        let before = try String(contentsOf: scratch.appendingPathComponent("stty-before"), encoding: .utf8)
        let after = try String(contentsOf: scratch.appendingPathComponent("stty-after"), encoding: .utf8)
        #expect(!before.isEmpty)
        #expect(before == after, "stty settings are restored")
    }

    /// Every line of the log, parsed; the file ends with a complete line.
    func wholeLog(_ path: String) throws -> [PoolEvent] {
        let data = try #require(FileManager.default.contents(atPath: path))
        #expect(data.last == UInt8(ascii: "\n"), "the log ends with a complete line")
        return try data.split(separator: UInt8(ascii: "\n")).map { try PoolEvent(jsonLine: String(decoding: $0, as: UTF8.self)) }
    }

    func poolStarts(_ events: [PoolEvent]) -> Int {
        events.filter { if case .poolCreated = $0.kind { true } else { false } }.count
    }

    /// The PIDs in the worker rows of the screen that are busy.
    func busyPIDs(_ screen: String) -> Set<Int32> {
        Set(screen.split(separator: "\n").compactMap { line -> Int32? in
            let words = line.split(separator: " ").filter { $0 != "│" && $0 != "▶" }
            guard words.count >= 2, let pid = Int32(words[0]), words[1] == "busy" else { return nil }
            return pid
        })
    }

    /// Records a headless run of the tutorial.
    func record(_ path: String, _ options: [String]) throws -> String {
        let run = try PoolmonProcess.run(["run", "--workers", "2", "--quiet", "--events", path] + options)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test("watch --events records every run the monitor makes (r) into the one file, in order")
    func everyRunRecorded() async throws {
        let scratch = try scratchDirectory()
        let log = scratch.appendingPathComponent("runs.jsonl").path
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "--workers 2 --delay 0.05 --events \(log)", scratch: scratch)
            try await session.waitFor("Sum of products of 'a' and 'b' is 935")
            try session.press("]")
            try await session.waitFor("next run")
            try session.press("r")
            try await session.waitUntil("the rerun to finish with chunks of 3") { screen in
                screen.components(separatedBy: "chunks 4/4").count == 3
                    && screen.contains("Sum of products of 'a' and 'b' is 935")
            }
            try session.press("q")
            try await session.waitFor("EXIT=0")
        }
        let events = try wholeLog(log)
        #expect(poolStarts(events) == 2, "two pools, two runs")
        #expect(events.filter { $0.kind == .poolStateChanged(.finished) }.count == 2)
        let chunksizes = events.compactMap { if case .jobSubmitted(let job) = $0.kind { job.chunksize } else { nil } }
        #expect(chunksizes == [2, 2, 3, 3], "the first run's jobs, then the second's")
    }

    @Test("q in the middle of watch --events keeps every event up to the stop")
    func quitMidRun() async throws {
        let scratch = try scratchDirectory()
        let log = scratch.appendingPathComponent("quit.jsonl").path
        var busy = Set<Int32>()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "--workers 2 --delay 1 --count 40 --events \(log)", scratch: scratch)
            let screen = try await session.waitUntil("two busy workers") { busyPIDs($0).count == 2 }
            busy = busyPIDs(screen)
            try session.press("q")
            try await session.waitFor("EXIT=0")
            try await expectTerminalRestored(session, scratch: scratch)
        }
        let events = try wholeLog(log)
        #expect(events.contains { $0.kind == .poolStateChanged(.terminated) })
        let exited = Set(events.compactMap { event -> Int32? in
            if case .workerExited(_, let pid, _, _, _) = event.kind { pid } else { nil }
        })
        #expect(busy.isSubset(of: exited), "the log goes on to the workers' exits: \(busy) \(exited)")
    }

    @Test("q during a flood of events (tiny tasks) keeps every event up to the stop")
    func quitInFlood() async throws {
        let scratch = try scratchDirectory()
        let log = scratch.appendingPathComponent("flood.jsonl").path
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "--workers 2 --delay 0 --count 1000000 --chunksize 1 --events \(log)", scratch: scratch)
            try await session.waitUntil("2000 lines in the log") { _ in
                let data = FileManager.default.contents(atPath: log) ?? Data()
                return data.lazy.filter { $0 == UInt8(ascii: "\n") }.count >= 2000
            }
            try session.press("q")
            try await session.waitFor("EXIT=0", timeout: .seconds(60))
        }
        let events = try wholeLog(log)
        #expect(events.contains { $0.kind == .poolStateChanged(.terminated) })
        #expect(events.last?.kind == .poolStateChanged(.finished))
    }

    @Test("a write error in watch restores the terminal, then prints one line and exits 74")
    func writeErrorInMonitor() async throws {
        let scratch = try scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "--workers 2 --delay 0.5 --count 40 --events /dev/full", scratch: scratch)
            let screen = try await session.waitFor("EXIT=74")
            #expect(screen.contains("poolmon: cannot write the event log '/dev/full': No space left on device\nEXIT=74"))
            try await expectTerminalRestored(session, scratch: scratch)
        }
    }

    @Test("replay plays a log holding several runs one after the other, each from a fresh state")
    func severalRuns() async throws {
        let scratch = try scratchDirectory()
        let first = try record(scratch.appendingPathComponent("a.jsonl").path, ["--delay", "0.25", "--chunksize", "3"])
        let second = try record(scratch.appendingPathComponent("b.jsonl").path, ["--delay", "0.05"])
        let log = scratch.appendingPathComponent("both.jsonl")
        try Data((first + second).utf8).write(to: log)
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "replay \(log.path) --speed 4", scratch: scratch)
            // The first run on its own: chunks of three, 4 per job.
            try await session.waitUntil("the first run's end") { $0.components(separatedBy: "chunks 4/4").count == 3 }
            let end = try await session.waitFor("replay of")
            #expect(end.contains("2 runs"), "\(end)")
            #expect(end.components(separatedBy: "chunks 5/5").count == 3, "the second run alone, on a fresh screen:\n\(end)")
            #expect(!end.contains("chunks 4"))
            #expect(end.contains("1 2 │"))
            try session.press("q")
            try await session.waitFor("EXIT=0")
        }
    }

    @Test("replay --follow shows events appended to the log after it started, a partial line held until its newline")
    func follow() async throws {
        let scratch = try scratchDirectory()
        let full = try record(scratch.appendingPathComponent("full.jsonl").path, ["--delay", "0.05"])
        let lines = full.split(separator: "\n", omittingEmptySubsequences: false).map { $0 + "\n" }.dropLast()
        let firstSubmit = try #require(lines.firstIndex { $0.contains(#""event":"jobSubmitted""#) })
        let head = lines[...(firstSubmit + 3)].joined()
        let rest = lines[(firstSubmit + 4)...].joined()
        let log = scratch.appendingPathComponent("growing.jsonl").path
        try Data(head.utf8).write(to: URL(fileURLWithPath: log))

        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "replay --follow \(log)", scratch: scratch)
            let started = try await session.waitFor("RUNNING")
            #expect(started.contains("sum"))
            #expect(!started.contains("chunks 5/5"))
            // The rest arrives in two writes that cut a line in half.
            let cut = rest.utf8.count / 2 + 7
            let handle = try #require(FileHandle(forWritingAtPath: log))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(rest.utf8.prefix(cut)))
            try await session.waitUntil("progress from the appended events") { screen in
                screen.range(of: "chunks [1-5]/5", options: .regularExpression) != nil
            }
            try handle.write(contentsOf: Data(rest.utf8.dropFirst(cut)))
            try handle.close()
            let end = try await session.waitUntil("the whole run") { screen in
                screen.components(separatedBy: "chunks 5/5").count == 3 && screen.contains("FINISHED")
            }
            #expect(!end.contains("EXIT="), "still following: no complaint about the line cut in half")
            try session.press("q")
            try await session.waitFor("EXIT=0")
            try await expectTerminalRestored(session, scratch: scratch)
        }
    }
}
