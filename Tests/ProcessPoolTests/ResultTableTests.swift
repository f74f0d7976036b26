@testable import ProcessPool
import PoolTestSupport
import Testing

/// A job's result table (`ResultTable`): whatever order, sizes and growth its results come in,
/// each item reads back exactly what was recorded for it, in the dense layout of small
/// same-sized results or after leaving it.
@Suite("Result table", .timeLimit(.minutes(4)))
struct ResultTableTests {
    /// The bytes of item `index`'s result, `length` long (different for every item).
    private static func result(_ index: Int, length: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: index &* 31 &+ $0 &* 7 &+ 1) }
    }

    @Test("every result reads back as recorded, singly or in runs, in any order, with failures and growth",
          arguments: 0..<6)
    func readsBack(case number: Int) {
        // Result sizes: one small, one large, small then mixed, several small ones.
        let sizes = [[8], [8], [8, 8, 8, 16], [4, 100], [100], [1, 2, 3]][number]
        let seed = UInt64(number + 1)
        var generator = SeededGenerator(state: seed)
        let expected = 600
        // Half the cases know the job's size at once; the others grow as a lazily read input does.
        let table = seed % 2 == 0 ? ResultTable(count: expected, expected: expected) : ResultTable(count: 0, expected: 400)
        var model: [Int: [UInt8]?] = [:]  // nil: failed
        var order = Array(0..<expected).shuffled(using: &generator)
        // One size at first (as a big map's results are), another size later if the case has one.
        var recorded = 0
        while let index = order.popLast() {
            if table.count <= index { table.grow(by: index + 1 - table.count) }
            let length = recorded < 450 ? sizes[0] : sizes.randomElement(using: &generator)!
            recorded += 1
            switch Int.random(in: 0..<10, using: &generator) {
            case 0:
                #expect(table.recordFailure(index))
                model[index] = .some(nil)
            case 1...3:
                // A run from here on, as far as the items are pending and in the table.
                var run = [index]
                while run.count < 20, let next = run.last.map({ $0 + 1 }), next < table.count, model[next] == nil,
                      let position = order.firstIndex(of: next) {
                    order.remove(at: position)
                    run.append(next)
                }
                let bytes = run.flatMap { Self.result($0, length: length) }
                #expect(bytes.withUnsafeBytes { table.recordSuccesses(start: index, count: run.count, length: length, $0) })
                for item in run { model[item] = Self.result(item, length: length) }
            default:
                #expect(Self.result(index, length: length).withUnsafeBytes { table.recordSuccess(index, $0) })
                model[index] = Self.result(index, length: length)
            }
            // A duplicate is refused and changes nothing.
            #expect(!Self.result(index, length: 3).withUnsafeBytes { table.recordSuccess(index, $0) })
        }
        for (index, outcome) in model {
            #expect(table.isFinished(index))
            if let bytes = outcome {
                #expect(Array(table.resultBytes(index)) == bytes, "item \(index)")
                #expect(table.status[index] == ResultTable.succeeded)
            } else {
                #expect(table.status[index] == ResultTable.failed)
            }
        }
        // What a stream job keeps after delivering a prefix reads back the same.
        let rest = table.suffix(from: 100)
        for index in 100..<table.count {
            guard let outcome = model[index], let bytes = outcome else { continue }
            #expect(Array(rest.resultBytes(index - 100)) == bytes)
        }
    }

    @Test("small results of one size are laid out densely, and a result of another size leaves that layout")
    func denseUntilMixed() {
        let table = ResultTable(count: 10, expected: 10)
        #expect(Self.result(3, length: 8).withUnsafeBytes { table.recordSuccess(3, $0) })
        #expect(table.isDense)
        let run = (4..<7).flatMap { Self.result($0, length: 8) }
        #expect(run.withUnsafeBytes { table.recordSuccesses(start: 4, count: 3, length: 8, $0) })
        #expect(table.isDense)
        #expect(Self.result(0, length: 5).withUnsafeBytes { table.recordSuccess(0, $0) })
        #expect(!table.isDense)
        for index in [0, 3, 4, 5, 6] {
            #expect(Array(table.resultBytes(index)) == Self.result(index, length: index == 0 ? 5 : 8))
        }
    }
}
