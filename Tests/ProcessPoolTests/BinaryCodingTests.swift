import Foundation
import PoolTestSupport
import ProcessPool
import Testing

/// Plain `Codable` values travel in ``BinaryEncoder``'s compact form.
@Suite("Binary Codable")
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
