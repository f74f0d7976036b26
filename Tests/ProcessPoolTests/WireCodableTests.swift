import ProcessPool
import Testing

/// The binary wire encoding of the hot types.
@Suite("Wire encoding", .timeLimit(.minutes(4)))
struct WireCodableTests {
    func roundTrip<T: WireCodable & Equatable>(_ value: T) throws -> T {
        var writer = WireWriter()
        value.encode(to: &writer)
        return try writer.bytes.withUnsafeBytes { raw in
            var reader = WireReader(raw)
            let decoded = try T(from: &reader)
            #expect(reader.remaining == 0)
            return decoded
        }
    }

    @Test("values survive encoding")
    func roundTrips() throws {
        #expect(try roundTrip(Int.min) == Int.min)
        #expect(try roundTrip(-1.5) == -1.5)
        #expect(try roundTrip("héllo █") == "héllo █")
        #expect(try roundTrip([1, 2, 3]) == [1, 2, 3])
        #expect(try roundTrip(Pair(Pair(1, "a"), [true, false])) == Pair(Pair(1, "a"), [true, false]))
        #expect(try roundTrip(Optional<Int>.none) == nil)
        #expect(try roundTrip(Optional(5)) == 5)
    }

    @Test("truncated or invalid data is an error, not a crash")
    func invalid() {
        var writer = WireWriter()
        [1, 2, 3].encode(to: &writer)
        let bytes = Array(writer.bytes.dropLast())
        #expect(throws: WireFormatError.self) {
            try bytes.withUnsafeBytes { raw in
                var reader = WireReader(raw)
                return try [Int](from: &reader)
            }
        }
        #expect(throws: WireFormatError.self) {
            try [UInt8(7)].withUnsafeBytes { raw in
                var reader = WireReader(raw)
                return try Bool(from: &reader)
            }
        }
        // A huge count must not allocate; it is refused.
        #expect(throws: WireFormatError.self) {
            try [UInt8(0xff), 0xff, 0xff, 0xff].withUnsafeBytes { raw in
                var reader = WireReader(raw)
                return try [Int](from: &reader)
            }
        }
    }
}
