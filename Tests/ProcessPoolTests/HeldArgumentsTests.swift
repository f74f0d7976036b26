@testable import ProcessPool
import Testing

/// A job's arguments kept as the batches they arrived in (`HeldArguments`): any run of items
/// reads back exactly as if every batch had been copied into one buffer, whether it lies in one
/// batch (borrowed) or straddles several (joined), and after the delivered items are dropped.
@Suite("Held arguments", .timeLimit(.minutes(4)))
struct HeldArgumentsTests {
    /// Items 0..<n encoded the way a job's input is (a length, then the value), in batches of
    /// the given sizes, and all of them in one batch for comparison.
    private static func batches(_ sizes: [Int]) throws -> (batches: [EncodedItems], whole: EncodedItems) {
        let encode = { (value: Int, writer: inout WireWriter) in
            // Values of different lengths, so that a wrong offset cannot read back right.
            for _ in 0...(value % 3) { writer.write(Int64(value)) }
        }
        var batches: [EncodedItems] = []
        var first = 0
        for size in sizes {
            batches.append(try EncodedItems(first..<(first + size), task: "t", startingAt: first, encode: encode))
            first += size
        }
        return (batches, try EncodedItems(0..<first, task: "t", encode: encode))
    }

    private static func bytes(_ run: (source: WireWriter, range: Range<Int>)) -> [UInt8] {
        run.source.withUnsafeBytes { Array($0[run.range]) }
    }

    @Test("every run reads back as from one buffer, within a batch or across several",
          arguments: [[8], [3, 1, 4], [1, 1, 1, 1, 1, 1, 1, 1], [0, 5, 0, 3]])
    func runs(sizes: [Int]) throws {
        let (batches, whole) = try Self.batches(sizes)
        var held = HeldArguments(batches[0])
        for batch in batches.dropFirst() { held.append(batch) }
        #expect(held.count == whole.count)
        for start in 0...whole.count {
            for count in 0...(whole.count - start) {
                let got = Self.bytes(held.bytes(start: start, count: count))
                let expected = Self.bytes((whole.bytes, whole.byteRange(start: start, count: count)))
                #expect(got == expected, "items \(start)..<\(start + count) of batches \(sizes)")
            }
        }
    }

    @Test("after the first items are dropped, the rest reads back unchanged", arguments: [[8], [3, 1, 4], [2, 2, 2, 2]])
    func suffix(sizes: [Int]) throws {
        let (batches, whole) = try Self.batches(sizes)
        var held = HeldArguments(batches[0])
        for batch in batches.dropFirst() { held.append(batch) }
        for drop in 0...whole.count {
            let rest = held.suffix(from: drop)
            #expect(rest.count == whole.count - drop)
            let got = Self.bytes(rest.bytes(start: 0, count: rest.count))
            let expected = Self.bytes((whole.bytes, whole.byteRange(start: drop, count: whole.count - drop)))
            #expect(got == expected, "dropping \(drop) of batches \(sizes)")
        }
    }
}
