import ProcessPool
import Testing

/// Reading a log as it grows, and cutting a log into its runs.
@Suite("Event log decoder", .timeLimit(.minutes(4)))
struct EventLogDecoderTests {
    let events = [
        PoolEvent(time: 1, kind: .poolResized(from: 0, to: 2)),
        PoolEvent(time: 2, kind: .workerStarted(slot: 0, pid: 9)),
        PoolEvent(time: 3, kind: .workerOutput(pid: 9, line: "héllo")),
    ]

    var log: [UInt8] { Array(events.map { $0.jsonLine + "\n" }.joined().utf8) }

    @Test("bytes arriving in any pieces give the same events; a partial line waits for its newline",
          arguments: [1, 7, 50, 1000])
    func pieces(size: Int) throws {
        var decoder = EventLogDecoder()
        var decoded: [PoolEvent] = []
        var start = 0
        while start < log.count {
            let end = min(log.count, start + size)
            decoded += try decoder.decode(log[start..<end])
            // Whatever was decoded so far is exactly the lines completed so far.
            let completeLines = log[..<end].filter { $0 == UInt8(ascii: "\n") }.count
            #expect(decoded == Array(events.prefix(completeLines)))
            #expect(decoder.hasPartialLine == (log[end - 1] != UInt8(ascii: "\n")))
            start = end
        }
        #expect(try decoder.finish().isEmpty)
        #expect(decoded == events)
    }

    @Test("a bad line is named by its number in the whole log, across pieces")
    func lineNumbers() throws {
        var decoder = EventLogDecoder()
        let good = events[0].jsonLine
        _ = try decoder.decode(Array("\(good)\n\n\(good.prefix(10))".utf8))
        #expect(throws: EventLogError(line: 3, message: "not valid JSON")) {
            _ = try decoder.decode(Array("broken\n".utf8))
        }
    }

    @Test("finish() reads a last line without its newline, or says it looks truncated")
    func finish() throws {
        var decoder = EventLogDecoder()
        #expect(try decoder.decode(Array(events[0].jsonLine.utf8)).isEmpty)
        #expect(try decoder.finish() == [events[0]])
        var truncated = EventLogDecoder()
        _ = try truncated.decode(Array(events[0].jsonLine.prefix(20).utf8))
        #expect { try truncated.finish() } throws: { error in
            "\(error)".contains("line 1") && "\(error)".contains("truncated")
        }
    }

    @Test("a line without end is refused rather than held forever")
    func endlessLine() {
        var decoder = EventLogDecoder()
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        #expect(throws: EventLogError.self) {
            for _ in 0...(EventLogDecoder.maximumLineLength >> 20) { _ = try decoder.decode(chunk) }
        }
    }

    @Test("a log of several runs is cut where a pool starts, or where time runs back by over a second")
    func runs() {
        func event(_ seconds: Double, _ kind: PoolEvent.Kind = .workerStarted(slot: 0, pid: 1)) -> PoolEvent {
            PoolEvent(time: UInt64(seconds * 1e9), kind: kind)
        }
        let log = [
            event(0, .poolResized(from: 0, to: 2)), event(0.2), event(0.4),
            // A second pool, shorter than a second after the first: its first event says so.
            event(0, .poolResized(from: 0, to: 3)), event(2.5), event(3),
            // Time back by more than a second, without the pool's first line (a log cut short).
            event(1.5), event(1.6),
            // Back by less than a second: the same run.
            event(1.0),
        ]
        let runs = PoolEvent.runs(in: log)
        #expect(runs.map(\.count) == [3, 3, 3])
        #expect(runs.map(\.startIndex) == [0, 3, 6])
        #expect(PoolEvent.runs(in: []).isEmpty)
        #expect(!event(2.0).beginsNewRun(after: event(2.5)))
        #expect(!event(1, .poolResized(from: 2, to: 3)).beginsNewRun(after: event(0.5)))
        // Schema 2: poolCreated starts a run, and the poolResized after it belongs to that run.
        let created = event(0, .poolCreated(pool: 2, pid: 7, workers: 2))
        #expect(created.beginsNewRun(after: event(3)))
        #expect(!event(0, .poolResized(from: 0, to: 2)).beginsNewRun(after: created))
        let schema2 = [event(0, .poolCreated(pool: 1, pid: 7, workers: 2)), event(0, .poolResized(from: 0, to: 2)), event(0.5),
                       event(0, .poolCreated(pool: 2, pid: 7, workers: 2)), event(0, .poolResized(from: 0, to: 2))]
        #expect(PoolEvent.runs(in: schema2).map(\.count) == [3, 2])
    }
}
