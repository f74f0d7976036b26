@testable import ProcessPool
import PoolTestSupport
import Testing

/// Where a batch's encoded items start (`ItemOffsets`): kept as a size while items are uniform,
/// as an array once they are not, and the same answers either way.
@Suite("Item offsets", .timeLimit(.minutes(4)))
struct ItemOffsetsTests {
    @Test("offsets read back as an array of them would, uniform throughout or not, across removeAll",
          arguments: [0, 1, 5, 300])
    func sameAsArray(uniformFor: Int) {
        var generator = SeededGenerator(state: UInt64(uniformFor + 1))
        var offsets = ItemOffsets()
        for round in 0..<3 {
            var model = [0]
            for item in 0..<400 {
                let size = item < uniformFor ? 24 : Int.random(in: 20...28, using: &generator)
                model.append(model.last! + size)
                offsets.append(end: model.last!)
                #expect(offsets.count == item + 1)
            }
            #expect((0...400).allSatisfy { offsets[$0] == model[$0] }, "round \(round)")
            #expect(offsets[offsets.count] == model.last!)
            // The items from 150 on, and those appended after a copy of them.
            let rest = offsets.suffix(from: 150)
            #expect((0...250).allSatisfy { rest[$0] == model[150 + $0] - model[150] })
            var joined = offsets
            joined.append(contentsOf: rest, at: model.last!)
            #expect(joined.count == 650)
            #expect((0...250).allSatisfy { joined[400 + $0] == model.last! + rest[$0] })
            // Uniform throughout: no array was made.
            #expect((offsets.explicit == nil) == (uniformFor >= 400 || model.adjacentDifferencesAreEqual))
            offsets.removeAll()
            #expect(offsets.count == 0 && offsets[0] == 0)
        }
    }

    @Test("a batch of same-sized arguments keeps no array of offsets, and its runs read back exactly")
    func uniformBatch() throws {
        let items = try EncodedItems(0..<1000, task: "t") { value, writer in writer.write(Int64(value)) }
        #expect(items.offsets.explicit == nil)
        #expect(items.count == 1000)
        // Each item: its length (4 bytes), then the value (8).
        #expect(items.byteRange(start: 10, count: 5) == 120..<180)
        let rest = items.suffix(from: 990)
        #expect(rest.count == 10 && rest.byteRange(start: 0, count: 10) == 0..<120)
        #expect(items.suffix(from: 1000).count == 0)
        var joined = rest
        joined.append(contentsOf: rest)
        #expect(joined.count == 20 && joined.offsets.explicit == nil && joined.byteRange(start: 15, count: 5) == 180..<240)
    }
}

private extension Array where Element == Int {
    var adjacentDifferencesAreEqual: Bool {
        guard count > 2 else { return true }
        let first = self[1] - self[0]
        return (1..<count).allSatisfy { self[$0] - self[$0 - 1] == first }
    }
}
