@testable import ProcessPool
import PoolTestSupport
import Testing

/// The fast reader of event lines (``JSONLineScanner``) against what it stands in for: its key
/// look-up and its reading of times must never differ from JSONDecoder's and `Double(String)`'s.
@Suite("Event line reader", .timeLimit(.minutes(4)))
struct JSONLineScannerTests {
    @Test("no two known keys look alike to the key look-up")
    func keyTags() {
        #expect(JSONLineScanner.keyTagsAreDistinct)
    }

    @Test("times read exactly as Double(String) reads them, at every length the fast path takes and past it")
    func times() throws {
        var generator = SeededGenerator(state: 15)
        var texts = ["0", "0.0", "1", "0.5", "-0", "12.000345678", "999999.999999999", "9999999.999999999",
                     "123456789012345", "1234567890123456", "0.0000000000000000000001", "0.00000000000000000000001",
                     "4503599627370497.5", "1.7976931348623157"]
        for _ in 0..<2_000 {
            let whole = UInt64.random(in: 0...10_000_000, using: &generator)
            let decimals = Int.random(in: 0...12, using: &generator)
            var text = "\(whole)"
            if decimals > 0 {
                text += "." + String((0..<decimals).map { _ in Character("\(Int.random(in: 0...9, using: &generator))") })
            }
            texts.append(text)
        }
        for text in texts {
            guard let expected = Double(text), expected >= 0, expected <= PoolEvent.latestTime else { continue }
            let line = #"{"v":2,"t":\#(text),"event":"poolResized","from":1,"to":2}"#
            let event = try PoolEvent(jsonLine: line)
            #expect(event.time == UInt64((expected * 1e9).rounded()), "t = \(text)")
        }
    }

    @Test("a key that shares its first seven bytes and length with a known one is not taken for it")
    func lookAlikeKeys() throws {
        // "queued_chunkz" has the tag of "queued_chunks"; unknown keys are ignored, so the line
        // lacks "queued_chunks" and must be refused for it, as JSONDecoder's path refuses it.
        let line = #"{"v":2,"t":1,"event":"chunkRequeued","job":1,"chunk":0,"start":0,"count":1,"queued_chunkz":3,"queued_items":4}"#
        #expect { try PoolEvent(jsonLine: line) } throws: { ($0 as? EventLogError)?.message == #"missing "queued_chunks""# }
    }
}

extension JSONLineScannerTests {
    /// Lines of the busiest events, and mutations of them: values at and past the edges, fields
    /// dropped, doubled, renamed or given other types, bytes changed.
    static func hotLines() -> [String] {
        let queue = QueueDepth(chunks: 3, items: 40)
        let kinds: [PoolEvent.Kind] = [
            .itemsFinished(job: 1, start: 4, count: 512, pid: 42, nanoseconds: 98_765),
            .chunksDispatched(job: 2, firstChunk: 1, chunks: 3, start: 2, count: 5, pid: 42, queue: queue),
            .itemFinished(job: 3, index: 1, pid: 42, error: nil, nanoseconds: 1_000_000_123),
            .itemFinished(job: 3, index: 2, pid: 42, error: "boom", nanoseconds: 5),
            .resultsDelivered(job: 3, start: 0, count: 4),
            .itemStarted(job: 3, index: 1, pid: 42),
            .chunkDispatched(job: 3, chunk: 0, start: 0, count: 2, pid: 42, queue: queue),
        ]
        let edges = ["0", "-1", "2147483647", "2147483648", "9223372036854775807", "1.5", "null", "\"7\"", "true", "01"]
        var generator = SeededGenerator(state: 16)
        var lines: [String] = []
        for (i, kind) in kinds.enumerated() {
            let line = PoolEvent(time: UInt64(i) * 1_234_567_891 + 7, kind: kind).jsonLine
            lines.append(line)
            // Every value replaced by each edge, one at a time.
            let fields = line.dropFirst().dropLast().split(separator: ",").map(String.init)
            for (position, field) in fields.enumerated() {
                guard let colon = field.firstIndex(of: ":") else { continue }
                for edge in edges {
                    var changed = fields
                    changed[position] = String(field[...colon]) + edge
                    lines.append("{" + changed.joined(separator: ",") + "}")
                }
                var dropped = fields
                dropped.remove(at: position)
                lines.append("{" + dropped.joined(separator: ",") + "}")
                lines.append("{" + (fields + [field]).joined(separator: ",") + "}")
                lines.append("{" + fields.joined(separator: ",") + ",\"x" + field.dropFirst() + "}")
            }
            // Bytes changed at random.
            for _ in 0..<300 {
                var bytes = Array(line.utf8)
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = Array("0123456789-.,:\"{}ae ".utf8).randomElement(using: &generator)!
                }
                lines.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        return lines
    }

    @Test("the reader of the busiest events takes only lines the general reader takes, and reads them the same")
    func hotPathAgrees() {
        var taken = 0
        for line in Self.hotLines() {
            let general = Result { try PoolEvent(generalJSONLine: line) }
            if let hot = JSONLineScanner.hotEvent(line) {
                taken += 1
                #expect((try? general.get()) == hot, "\(line)")
            }
            // Whichever way, the public reader answers as the general one does.
            let answer = Result { try PoolEvent(jsonLine: line) }
            switch (answer, general) {
            case (.success(let a), .success(let b)): #expect(a == b, "\(line)")
            case (.failure(let a), .failure(let b)): #expect("\(a)" == "\(b)", "\(line)")
            default: Issue.record("the readers disagree on \(line)")
            }
        }
        // The path is taken at all (the unchanged lines, at least).
        #expect(taken >= 6)
    }
}
