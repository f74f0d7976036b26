import Foundation
import PoolMonitor
import PoolTestSupport
import ProcessPool
import Testing

/// A log (or a socket peer) is untrusted input: random and mutated lines must never trap the
/// reader, the fold or the screen, never make them allocate by a number's size, and a log of any
/// number of jobs must fold in time linear in its length.
@Suite("Untrusted logs")
struct UntrustedLogTests {
    static let extremes = ["-1", "0", "1", "2147483647", "2147483648", "9223372036854775807", "-9223372036854775808",
                           "1099511627776", "1e30", "1e308", "-0", "0.5", "\"x\"", "null", "true", "[]", "{}",
                           "18446744073709551615", "99999999999999999999999"]

    /// The lines of every recorded fixture log.
    static func fixtureLines() throws -> [String] {
        let directory = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "Fixtures")
        var lines: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() where name.hasSuffix(".jsonl") {
            let text = try String(contentsOf: directory.appending(path: name), encoding: .utf8)
            lines += text.split(separator: "\n").map(String.init)
        }
        return lines
    }

    /// One mutation of a line: a number swapped for an extreme, a character dropped or
    /// doubled, a field duplicated, the line cut short, or the event name swapped.
    static func mutate(_ line: String, using random: inout SeededGenerator) -> String {
        var characters = Array(line)
        switch Int.random(in: 0..<6, using: &random) {
        case 0, 1:
            // Replace one number with an extreme value.
            let digits = characters.indices.filter { characters[$0].isNumber && ($0 == 0 || !characters[$0 - 1].isNumber) }
            guard let start = digits.randomElement(using: &random) else { return line }
            var end = start
            while end < characters.count && (characters[end].isNumber || characters[end] == ".") { end += 1 }
            characters.replaceSubrange(start..<end, with: Array(extremes.randomElement(using: &random)!))
        case 2:
            guard !characters.isEmpty else { return line }
            characters.remove(at: Int.random(in: 0..<characters.count, using: &random))
        case 3:
            guard !characters.isEmpty else { return line }
            let position = Int.random(in: 0..<characters.count, using: &random)
            characters.insert(characters[position], at: position)
        case 4:
            characters = Array(characters.prefix(Int.random(in: 0...characters.count, using: &random)))
        default:
            let names = ["itemsFinished", "jobProgress", "poolResized", "chunksQueued", "workerStarted", "itemFinished",
                         "resultsDelivered", "chunkDispatched", "poolCreated", "settingsChanged", "workerExited"]
            if let range = line.range(of: #""event":"[A-Za-z]+""#, options: .regularExpression) {
                return line.replacingCharacters(in: range, with: "\"event\":\"\(names.randomElement(using: &random)!)\"")
            }
        }
        return String(characters)
    }

    func render(_ state: MonitorState) {
        for (width, height) in [(80, 24), (120, 40), (200, 60)] {
            _ = MonitorScreen().render(state, ui: MonitorUIState(), width: width, height: height, now: state.lastEventTime)
        }
    }

    @Test("random and mutated log lines are read, folded and drawn without a trap")
    func mutatedLines() throws {
        let lines = try Self.fixtureLines()
        #expect(lines.count > 100)
        var random = SeededGenerator(state: 0x5EED)
        var accepted = 0
        var rejected = 0
        for round in 0..<40 {
            var state = MonitorState()
            for (position, line) in lines.enumerated() {
                let candidate = Int.random(in: 0..<4, using: &random) == 0 ? Self.mutate(line, using: &random) : line
                do {
                    state.apply(try PoolEvent(jsonLine: candidate))
                    accepted += 1
                } catch let error as EventLogError {
                    #expect(!error.message.isEmpty, "a rejected line says why")
                    rejected += 1
                }
                if position % 97 == round { render(state) }
            }
            render(state)
        }
        #expect(accepted > 0 && rejected > 0, "the mutations produced both (accepted \(accepted), rejected \(rejected))")
    }

    @Test("numbers at the edge of what a log may say fold in bounded memory", arguments: [0, 1, Int(Int32.max) - 1])
    func extremeNumbers(index: Int) throws {
        var state = MonitorState()
        func add(_ kind: PoolEvent.Kind) { state.apply(PoolEvent(time: 1, kind: kind)) }
        let huge = Int(Int32.max)
        add(.poolCreated(pool: huge, pid: Int32.max, workers: 65_536))
        add(.poolResized(from: 0, to: 65_536))
        add(.workerStarted(slot: 65_536, pid: Int32.max))
        for job in 0..<50 {
            add(.jobSubmitted(JobDescriptor(id: job, label: "j\(job)", function: "f", itemCount: huge, chunksize: 1,
                                            chunksizeIsAutomatic: false, mode: .imap)))
            add(.chunksQueued(job: job, firstChunk: 0, chunks: huge, start: 0, count: huge, queue: QueueDepth(chunks: huge, items: huge)))
            add(.chunkDispatched(job: job, chunk: index, start: index, count: 1, pid: Int32.max, queue: QueueDepth(chunks: 0, items: 0)))
            add(.itemFinished(job: job, index: index, pid: Int32.max, error: nil, nanoseconds: .max))
            add(.itemsFinished(job: job, start: max(0, index - 5), count: 5, pid: Int32.max, nanoseconds: .max))
            add(.resultsDelivered(job: job, start: index, count: 1))
            add(.jobProgress(job: job, finished: huge, failed: huge, delivered: huge, chunksDone: huge))
            add(.itemRetried(job: job, index: index, attempt: huge, deadPID: Int32.max))
        }
        add(.poolResized(from: 65_536, to: 0))
        add(.workerExited(slot: 65_536, pid: Int32.max, termination: .signaled(signal: 127), reason: .crashed))
        let tracked = state.jobs.reduce(TrackingBudget(items: 0, chunks: 0)) {
            TrackingBudget(items: $0.items + $1.trackedCapacity.items, chunks: $0.chunks + $1.trackedCapacity.chunks)
        }
        let budget = TrackingBudget()
        #expect(tracked.items <= budget.items && tracked.chunks <= budget.chunks, "tables stay within the budget: \(tracked)")
        render(state)
    }

    @Test("20,000 jobs fold and draw in time linear in the log, with memory kept per job bounded", .timeLimit(.minutes(2)))
    func manyJobs() {
        var state = MonitorState()
        var time: UInt64 = 0
        func add(_ kind: PoolEvent.Kind) {
            time += 1000
            state.apply(PoolEvent(time: time, kind: kind))
        }
        add(.poolCreated(pool: 1, pid: 1, workers: 2))
        add(.workerStarted(slot: 0, pid: 10))
        for job in 0..<20_000 {
            add(.jobSubmitted(JobDescriptor(id: job, label: "job\(job % 50)", function: "f", itemCount: 4, chunksize: 2,
                                            chunksizeIsAutomatic: true, mode: .map)))
            add(.chunksQueued(job: job, firstChunk: 0, chunks: 2, start: 0, count: 4, queue: QueueDepth(chunks: 2, items: 4)))
            add(.chunkDispatched(job: job, chunk: 0, start: 0, count: 2, pid: 10, queue: QueueDepth(chunks: 1, items: 2)))
            add(.itemsFinished(job: job, start: 0, count: 2, pid: 10, nanoseconds: 10))
            add(.chunkDispatched(job: job, chunk: 1, start: 2, count: 2, pid: 10, queue: QueueDepth(chunks: 0, items: 0)))
            add(.itemsFinished(job: job, start: 2, count: 2, pid: 10, nanoseconds: 10))
            add(.resultsDelivered(job: job, start: 0, count: 4))
            add(.jobCompleted(job: job, error: nil))
            if job % 500 == 0 { render(state) }
        }
        #expect(state.jobs.count <= MonitorState.jobCapacity, "old finished jobs are let go")
        #expect(state.jobs.last?.id == 19_999 && state.jobs.last?.itemsDone == 4)
        render(state)
    }
}
