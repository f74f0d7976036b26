import Foundation
import PoolMonitor
import ProcessPool
import Testing

/// Recorded runs of `poolmon run`, kept under `Fixtures/`, made with
/// `poolmon run --workers 2 --delay 0.2 --quiet --events Fixtures/NAME.jsonl` plus the options
/// each case names. For `worker_killed`: `--count 40 --delay 0.1`, and `kill -9` of one worker
/// PID (a child of poolmon) partway through. Tests that name PIDs or times depend on these
/// exact files: re-recording one means updating those numbers too.
enum Fixture: String, CaseIterable {
    /// The tutorial: `sum` and `product` over 10 pairs, `map_async`, 2 workers, chunks of 2.
    case mapAsync = "tutorial_map_async"
    /// The same with `--mode imap` (chunks of 1, delivered in input order).
    case imap = "tutorial_imap"
    /// `--mode imap_unordered --chunksize 3` (delivered a chunk at a time, as chunks finish).
    case imapUnordered = "tutorial_imap_unordered_chunksize3"
    /// `--chunksize 5` (two chunks per job).
    case chunksize5 = "tutorial_chunksize5"
    /// `--count 40 --delay 0.1` with one worker SIGKILLed mid-run: retry, requeue, replacement.
    case workerKilled = "worker_killed"

    static let directory = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "Fixtures")

    /// Every event of the recording, in order.
    var events: [PoolEvent] {
        get throws {
            let text = try String(contentsOf: Self.directory.appending(path: rawValue + ".jsonl"), encoding: .utf8)
            return try text.split(separator: "\n").enumerated().map { number, line in
                do {
                    return try PoolEvent(jsonLine: String(line))
                } catch var error as EventLogError {
                    error.line = number + 1
                    throw error
                }
            }
        }
    }

    /// Items per job in the recording (`--count`).
    var itemCount: Int { self == .workerKilled ? 40 : 10 }

    /// Names items as the tutorial does: item `i` of a job over `count` pairs is `label(i+1,count+i+1)`.
    var describer: MonitorState.ItemDescriber {
        let count = itemCount
        return { job, index in "\(job.label)(\(index + 1),\(count + index + 1))" }
    }

    /// A state with the tutorial's describer and the recording's settings.
    func freshState() -> MonitorState {
        MonitorState(settings: settings, describer: describer)
    }

    var settings: MonitorSettings {
        switch self {
        case .mapAsync, .workerKilled: MonitorSettings(workers: 2, chunksize: .automatic, mode: .map)
        case .imap: MonitorSettings(workers: 2, chunksize: .automatic, mode: .imap)
        case .imapUnordered: MonitorSettings(workers: 2, chunksize: .fixed(3), mode: .imapUnordered)
        case .chunksize5: MonitorSettings(workers: 2, chunksize: .fixed(5), mode: .map)
        }
    }

    /// The recording folded as a live monitor would see it (a tick every 0.1 s of event time),
    /// stopping before the first event at or after `time` when given.
    func state(until time: UInt64? = nil, withOutput: Bool = false) throws -> MonitorState {
        var state = freshState()
        var events = try events.filter { time == nil || $0.time < time! }
        if withOutput { events = Self.withTutorialOutput(events, describer: describer) }
        state.replay(events, tickEvery: Fixture.tick)
        return state
    }

    static let tick: UInt64 = 100_000_000

    /// The recordings were made with `--quiet` and `run` does not capture output anyway; this adds
    /// the line each tutorial task prints (`Worker 843 is processing sum(1,11)`) as the monitor,
    /// which captures worker output, would receive it: right after the item starts.
    static func withTutorialOutput(_ events: [PoolEvent], describer: MonitorState.ItemDescriber) -> [PoolEvent] {
        var jobs: [Int: JobDescriptor] = [:]
        return events.flatMap { event -> [PoolEvent] in
            switch event.kind {
            case .jobSubmitted(let job):
                jobs[job.id] = job
            case .itemStarted(let job, let index, let pid):
                guard let descriptor = jobs[job] else { break }
                let line = "Worker \(pid) is processing \(describer(descriptor, index))"
                return [event, PoolEvent(time: event.time, kind: .workerOutput(pid: pid, line: line))]
            default: break
            }
            return [event]
        }
    }
}

/// Golden screens: `canvas.lines` compared with `Golden/<name>.txt`.
///
/// Set `POOLMON_RECORD_GOLDEN=1` to write the files from the current rendering instead (the test
/// then passes); review the diff before committing it.
enum Golden {
    static let directory = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "Golden")

    static var isRecording: Bool { ProcessInfo.processInfo.environment["POOLMON_RECORD_GOLDEN"] == "1" }

    static func text(of canvas: Canvas) -> String { canvas.lines.joined(separator: "\n") + "\n" }

    static func check(_ canvas: Canvas, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = directory.appending(path: name + ".txt")
        let actual = text(of: canvas)
        if isRecording {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = stored(named: name) else {
            Issue.record("no golden file \(url.path); record it with POOLMON_RECORD_GOLDEN=1", sourceLocation: sourceLocation)
            return
        }
        guard expected != actual else { return }
        let report = difference(expected: expected, actual: actual)
        Issue.record("screen differs from \(name).txt (re-record with POOLMON_RECORD_GOLDEN=1 if intended):\n\(report)",
                     sourceLocation: sourceLocation)
    }

    /// The golden file's text, if there is one.
    static func stored(named name: String) -> String? {
        try? String(contentsOf: directory.appending(path: name + ".txt"), encoding: .utf8)
    }

    /// Whether `canvas` matches the stored file (never records).
    static func matches(_ canvas: Canvas, named name: String) -> Bool {
        stored(named: name) == text(of: canvas)
    }

    /// The differing lines, numbered, expected then actual.
    static func difference(expected: String, actual: String) -> String {
        let old = expected.components(separatedBy: "\n"), new = actual.components(separatedBy: "\n")
        var report: [String] = []
        for row in 0..<max(old.count, new.count) {
            let a = row < old.count ? old[row] : "<none>", b = row < new.count ? new[row] : "<none>"
            if a != b { report += ["line \(row + 1) expected: \(a)", "line \(row + 1) actual:   \(b)"] }
        }
        return report.joined(separator: "\n")
    }
}

extension UInt64 {
    /// Seconds to nanoseconds, for readable test times.
    static func seconds(_ value: Double) -> UInt64 { UInt64((value * 1e9).rounded()) }
}
