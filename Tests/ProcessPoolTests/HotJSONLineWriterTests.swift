@testable import ProcessPool
import PoolTestSupport
import Testing

/// The writer of the busiest events' lines (``HotJSONLineWriter``) against the general one.
@Suite("Event line writer", .timeLimit(.minutes(4)))
struct HotJSONLineWriterTests {
    @Test("the busiest events are written byte for byte as the general writer writes them, at any value")
    func sameBytes() {
        var generator = SeededGenerator(state: 17)
        let edges = [0, 1, 9, 10, 99, 100, 1_000_000_007, Int(Int32.max), Int.max, -1, Int.min]
        func number() -> Int {
            Bool.random(using: &generator) ? edges.randomElement(using: &generator)! : Int.random(in: 0...Int.max, using: &generator)
        }
        func pid() -> Int32 { [0, 1, Int32.max, -1, Int32.min, Int32.random(in: 1...4_000_000, using: &generator)].randomElement(using: &generator)! }
        func nanoseconds() -> UInt64 { [0, 1, UInt64.max, UInt64.random(in: 0...UInt64.max, using: &generator)].randomElement(using: &generator)! }
        var written = 0
        for round in 0..<3_000 {
            let queue = QueueDepth(chunks: number(), items: number())
            let kinds: [PoolEvent.Kind] = [
                .itemsFinished(job: number(), start: number(), count: number(), pid: pid(), nanoseconds: nanoseconds()),
                .chunksDispatched(job: number(), firstChunk: number(), chunks: number(), start: number(), count: number(),
                                  pid: pid(), queue: queue),
                .chunkDispatched(job: number(), chunk: number(), start: number(), count: number(), pid: pid(), queue: queue),
                .itemStarted(job: number(), index: number(), pid: pid()),
                .itemFinished(job: number(), index: number(), pid: pid(), error: nil, nanoseconds: nanoseconds()),
                .resultsDelivered(job: number(), start: number(), count: number()),
            ]
            let time = round % 3 == 0 ? [0, 999_999_999, 1_000_000_000, UInt64.max].randomElement(using: &generator)!
                                      : nanoseconds()
            for kind in kinds {
                let event = PoolEvent(time: time, kind: kind)
                var general: [UInt8] = Array("previous line\n".utf8)
                var hot = general
                event.appendGeneralJSONLine(to: &general)
                #expect(HotJSONLineWriter.append(event, to: &hot))
                #expect(hot == general, "\(String(decoding: general, as: UTF8.self))")
                written += 1
            }
        }
        #expect(written == 18_000)
    }

    @Test("other events are left to the general writer")
    func othersLeft() {
        var bytes: [UInt8] = []
        for kind: PoolEvent.Kind in [.itemFinished(job: 1, index: 2, pid: 3, error: "boom", nanoseconds: 4),
                                     .workerOutput(pid: 3, line: "x"), .jobCompleted(job: 1, error: nil)] {
            #expect(!HotJSONLineWriter.append(PoolEvent(time: 1, kind: kind), to: &bytes))
        }
        #expect(bytes.isEmpty)
    }
}
