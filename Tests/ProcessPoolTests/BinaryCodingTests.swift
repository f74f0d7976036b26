import Foundation
import PoolTestSupport
import ProcessPool
import Synchronization
import Testing

/// Plain `Codable` values travel in ``BinaryEncoder``'s compact form.
@Suite("Binary Codable", .timeLimit(.minutes(4)))
struct BinaryCodingTests {
    struct Inner: Codable, Equatable {
        var name: String
        var weights: [Double]
    }

    enum Shape: Codable, Equatable {
        case circle(radius: Double)
        case polygon(sides: Int, label: String?)
        case empty
    }

    enum Colour: String, Codable { case red, green }

    struct Everything: Codable, Equatable {
        var int = -7
        var small: Int8 = -3
        var unsigned: UInt64 = .max
        var float: Float = 1.25
        var double = -0.5
        var flag = true
        var text = "héllo █"
        var missing: Int? = nil
        var present: String? = "here"
        var nested = Inner(name: "n", weights: [1, 2.5])
        var optionalNested: Inner? = Inner(name: "o", weights: [])
        var list: [Int?] = [1, nil, 3]
        var table: [String: Int] = ["a": 1, "b": 2]
        var numbered: [Int: String] = [3: "three"]
        var shapes: [Shape] = [.circle(radius: 2), .polygon(sides: 5, label: nil), .polygon(sides: 3, label: "t"), .empty]
        var colour = Colour.green
        var data = Data([0, 1, 2, 255])
        var date = Date(timeIntervalSince1970: 1_000)
        var bytes: [UInt8] = [9, 8, 7]
    }

    @Test("any Codable value survives a round trip: optionals, nesting, enums, dictionaries, Data")
    func roundTrip() throws {
        let value = Everything()
        let bytes = try BinaryEncoder().encode(value)
        #expect(try BinaryDecoder().decode(Everything.self, from: bytes) == value)
        var other = value
        other.missing = 4
        other.present = nil
        other.optionalNested = nil
        #expect(try BinaryDecoder().decode(Everything.self, from: try BinaryEncoder().encode(other)) == other)
        #expect(try BinaryDecoder().decode(Int?.self, from: try BinaryEncoder().encode(Int?.none)) == nil)
    }

    @Test("compact: a 4 KB byte array costs about 4 KB; Data is WireCodable")
    func compact() throws {
        let blob = Blob(bytes: (0..<4096).map { UInt8(truncatingIfNeeded: $0) }, tag: "t")
        let size = try BinaryEncoder().encode(blob).count
        #expect(size >= 4096 && size <= 4096 + 32, "\(size) bytes")
        var writer = WireWriter()
        Data(repeating: 7, count: 4096).encode(to: &writer)
        #expect(writer.bytes.count == 4100)
        let decoded = try writer.bytes.withUnsafeBytes { raw in
            var reader = WireReader(raw)
            return try Data(from: &reader)
        }
        #expect(decoded == Data(repeating: 7, count: 4096))
    }

    @Test("truncated, malformed or oversized input throws, never traps or allocates by its numbers")
    func untrusted() throws {
        let bytes = try BinaryEncoder().encode(Everything())
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            #expect(throws: (any Error).self) { try BinaryDecoder().decode(Everything.self, from: Array(bytes[..<cut])) }
        }
        // A count of 4 billion entries in a few bytes.
        #expect(throws: (any Error).self) { try BinaryDecoder().decode([Int].self, from: [0xff, 0xff, 0xff, 0xff, 1]) }
        #expect(throws: (any Error).self) { try BinaryDecoder().decode([String: Int].self, from: [0xff, 0xff, 0xff, 0xff]) }
        #expect(throws: (any Error).self) { try BinaryDecoder().decode(Inner.self, from: [0xff, 0xff, 0xff, 0x7f, 0]) }
        // Keys asked for in another order than written are reported, not misread.
        struct Swapped: Codable { var weights: [Double]; var name: String }
        #expect(throws: DecodingError.self) {
            try BinaryDecoder().decode(Swapped.self, from: try BinaryEncoder().encode(Inner(name: "x", weights: [1])))
        }
    }

    /// A recursive type: containers of one key type nested deeper than the coders keep boxes for,
    /// each still open while its children are coded.
    struct Tree: Codable, Equatable {
        var value: Int
        var label: String?
        var children: [Tree]

        static func chain(depth: Int) -> Tree {
            var tree = Tree(value: 0, label: nil, children: [])
            for level in 1...depth {
                tree = Tree(value: level, label: level % 3 == 0 ? "l\(level)" : nil,
                            children: [tree, Tree(value: -level, label: "leaf", children: [])])
            }
            return tree
        }
    }

    @Test("nested containers of one type, deeper than the reused boxes, keep their own counts")
    func recursive() throws {
        let tree = Tree.chain(depth: 80)
        // Twice: the second value reuses what the first left behind.
        for _ in 0..<2 {
            #expect(try BinaryDecoder().decode(Tree.self, from: try BinaryEncoder().encode(tree)) == tree)
        }
        // Truncated anywhere, a deep value throws (and the coders stay usable after).
        let bytes = try BinaryEncoder().encode(tree)
        for cut in stride(from: 0, to: bytes.count, by: 97) {
            #expect(throws: (any Error).self) { try BinaryDecoder().decode(Tree.self, from: Array(bytes[..<cut])) }
        }
        #expect(try BinaryDecoder().decode(Tree.self, from: bytes) == tree)
    }

    indirect enum Nest: Codable, Equatable {
        case leaf
        case node(Nest)
    }

    /// The encoding of `Nest` `depth` nodes deep, written by hand (encoding such a value would
    /// recurse as deep as decoding it).
    static func nestBytes(depth: Int) -> [UInt8] {
        let node: [UInt8] = [1, 0, 0, 0, 4] + Array("node".utf8) + [1, 0, 0, 0, 2] + Array("_0".utf8)
        let leaf: [UInt8] = [1, 0, 0, 0, 4] + Array("leaf".utf8) + [0, 0, 0, 0]
        return Array([[UInt8]](repeating: node, count: depth).joined()) + leaf
    }

    @Test("input nested without end is refused at a fixed depth, not decoded until the stack overflows")
    func nestedTooDeep() throws {
        #expect(Self.nestBytes(depth: 2) == (try BinaryEncoder().encode(Nest.node(.node(.leaf)))))
        // On a thread with a known, ample stack: the refusal itself comes 512 levels down.
        let outcome = Mutex<(shallow: Bool, deep: String)?>(nil)
        let thread = Thread {
            let shallow = (try? BinaryDecoder().decode(Nest.self, from: Self.nestBytes(depth: 300))) != nil
            var deep = "decoded"
            do { _ = try BinaryDecoder().decode(Nest.self, from: Self.nestBytes(depth: 100_000)) } catch { deep = "\(error)" }
            outcome.withLock { $0 = (shallow, deep) }
        }
        thread.stackSize = 64 << 20
        thread.start()
        #expect(TestEnvironment.eventually(within: 60) { outcome.withLock { $0 != nil } })
        let result = try #require(outcome.withLock { $0 })
        #expect(result.shallow)
        #expect(result.deep.contains("nested more than 512 deep"), "\(result.deep)")
    }

    /// A value whose own coding runs the binary coders again, inside the outer coding.
    struct Wrapped: Codable, Equatable {
        var inner: Inner
        var note: String

        private enum CodingKeys: String, CodingKey { case packed, note }

        init(inner: Inner, note: String) {
            self.inner = inner
            self.note = note
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(try BinaryEncoder().encode(inner), forKey: .packed)
            try container.encode(note, forKey: .note)
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            inner = try BinaryDecoder().decode(Inner.self, from: try container.decode([UInt8].self, forKey: .packed))
            note = try container.decode(String.self, forKey: .note)
        }
    }

    @Test("a coding started inside another (a custom encode(to:) or init(from:)) does not disturb it")
    func reentrant() throws {
        let value = [Wrapped(inner: Inner(name: "a", weights: [1, 2]), note: "first"),
                     Wrapped(inner: Inner(name: "b", weights: []), note: "second")]
        #expect(try BinaryDecoder().decode([Wrapped].self, from: try BinaryEncoder().encode(value)) == value)
    }

    @Test("threads coding at once do not share state")
    func concurrent() async throws {
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for seed in 0..<8 {
                group.addTask {
                    for i in 0..<300 {
                        var value = Everything()
                        value.int = seed * 1000 + i
                        value.shapes.append(.polygon(sides: i, label: "\(seed)"))
                        let tree = Tree.chain(depth: 1 + (seed + i) % 40)
                        guard try BinaryDecoder().decode(Everything.self, from: try BinaryEncoder().encode(value)) == value,
                              try BinaryDecoder().decode(Tree.self, from: try BinaryEncoder().encode(tree)) == tree else { return false }
                    }
                    return true
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: true, count: 8))
    }

    @Test("a large map's results, decoded in parts on several threads, come back whole and in order; one undecodable fails the map")
    func largeMapDecodedInParts() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let count = 60_000
        let values = try await pool.map(TestTasks.picky, (0..<count).filter { $0 != Picky.refused }, chunksize: 500)
        #expect(values == (0..<count).filter { $0 != Picky.refused }.map { Picky(value: $0) })
        do {
            _ = try await pool.map(TestTasks.picky, Array(0..<count), chunksize: 500)
            Issue.record("the map should have failed")
        } catch let error as PoolError {
            #expect(error.code == .encoding)
            #expect("\(error)".contains("\(Picky.refused) is refused"), "\(error)")
        }
        // The pool is still usable.
        #expect(try await pool.map(TestTasks.picky, [1, 2]) == [Picky(value: 1), Picky(value: 2)])
    }

    @Test("a plain Codable task runs through the pool in the binary form")
    func throughThePool() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let blobs = (0..<20).map { Blob(bytes: [UInt8](repeating: 1, count: $0 * 100), tag: $0 % 2 == 0 ? "t\($0)" : nil) }
        let results = try await pool.map(TestTasks.blobSum, blobs)
        #expect(results == blobs.enumerated().map { i, blob in
            Blob(bytes: [UInt8(truncatingIfNeeded: i * 100)], tag: blob.tag.map { $0 + "!" })
        })
        #expect(try await pool.apply(TestTasks.echoMeasurement, Measurement(value: 2.5)) == Measurement(value: 2.5))
    }
}
