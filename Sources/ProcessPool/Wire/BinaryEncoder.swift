import Foundation

/// A compact binary `Encoder` for any `Encodable` value: what plain `Codable` task arguments and
/// results travel in (JSON stays for the event log). ``BinaryDecoder`` reads it back.
///
/// The format is not self-describing: the decoder must ask for the same types in the same order,
/// which synthesized `Codable` conformances do.
/// - Scalars are fixed-width little-endian (`Int` as 64 bits, `Bool` one byte), strings a `UInt32`
///   length and UTF-8, exactly as ``WireCodable`` writes them; a ``WireCodable`` value nested
///   anywhere is written by its own `encode(to:)` (so `[UInt8]` and `Data` cost their length plus
///   4 bytes).
/// - A keyed container is a `UInt32` entry count, then per entry the key (one length byte and its
///   UTF-8 `stringValue`) and the value. Keys let `decodeIfPresent` and `contains` see an entry
///   that `encodeIfPresent` left out; they must be asked for in the order they were written.
/// - An unkeyed container is a `UInt32` count, then the values; an optional value anywhere is a
///   byte (0: `nil`, 1: a value follows); a dictionary with `String` keys is a count and
///   key–value pairs.
public struct BinaryEncoder {
    public init() {}

    /// Appends `value`'s encoding to `writer`.
    /// - Throws: `EncodingError` when the value refuses to encode (its own `encode(to:)` threw).
    public func encode<T: Encodable>(_ value: T, to writer: inout WireWriter) throws {
        try withUnsafeMutablePointer(to: &writer) { try BinaryEncodingState(writer: $0).encodeValue(value, codingPath: []) }
    }

    /// Whether values of `type` take the generic path (checked once per task handle, not per item).
    static func isPlain<T>(_ type: T.Type) -> Bool {
        !(type is any WireCodable.Type) && !(type is any BinaryCodingSpecial.Type)
    }

    /// ``encode(_:to:)`` for a type ``isPlain(_:)`` said is plain.
    func encodePlain<T: Encodable>(_ value: T, to writer: inout WireWriter) throws {
        try withUnsafeMutablePointer(to: &writer) { try BinaryEncodingState(writer: $0).encodePlain(value) }
    }

    /// `value`'s encoding as bytes.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var writer = WireWriter()
        try encode(value, to: &writer)
        return writer.bytes
    }
}

/// Values with a binary form of their own in ``BinaryEncoder``: optionals (a presence byte) and
/// dictionaries with `String` keys (count and pairs, where `Codable` would need every key up
/// front to decode).
protocol BinaryCodingSpecial {
    func binaryEncode(_ state: BinaryEncodingState, codingPath: [any CodingKey]) throws
    static func binaryDecode(_ state: BinaryDecodingState, codingPath: [any CodingKey]) throws -> Self
}

/// The writer an encoding shares among its containers (they write one after another): a pointer
/// to the caller's own writer, valid for the length of ``BinaryEncoder/encode(_:to:)``. Through a
/// pointer, a write costs no dynamic exclusivity check (a class's stored property would, per
/// field), and an encoding allocates nothing but the containers Swift boxes.
struct BinaryEncodingState {
    let writer: UnsafeMutablePointer<WireWriter>

    /// The entry count of the container whose count field is at `offset` (kept in the bytes
    /// themselves: no counter object per container).
    func entryCount(at offset: Int) -> UInt32 {
        writer.pointee.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    func countEntry(at offset: Int) { writer.pointee.patch(entryCount(at: offset) + 1, at: offset) }

    /// Encodes a top-level value whose type is known to be neither ``WireCodable`` nor special
    /// (see ``BinaryEncoder/encodePlain(_:to:)``), skipping the casts.
    func encodePlain<T: Encodable>(_ value: T) throws {
        try value.encode(to: BinaryEncoderImpl(state: self, codingPath: []))
    }

    func encodeValue<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        if let wire = value as? any WireCodable {
            wire.encode(to: &writer.pointee)
        } else if let special = value as? any BinaryCodingSpecial {
            try special.binaryEncode(self, codingPath: codingPath)
        } else {
            try value.encode(to: BinaryEncoderImpl(state: self, codingPath: codingPath))
        }
    }

    func writeKey(_ key: some CodingKey) throws {
        var name = key.stringValue
        let fits = name.withUTF8 { utf8 in
            guard utf8.count <= 255 else { return false }
            writer.pointee.write(UInt8(utf8.count))
            writer.pointee.writeRaw(UnsafeRawBufferPointer(utf8))
            return true
        }
        guard fits else {
            throw EncodingError.invalidValue(name, .init(codingPath: [key], debugDescription: "a key longer than 255 bytes"))
        }
    }
}

extension Optional: BinaryCodingSpecial where Wrapped: Codable {
    func binaryEncode(_ state: BinaryEncodingState, codingPath: [any CodingKey]) throws {
        switch self {
        case .none: state.writer.pointee.write(UInt8(0))
        case .some(let value):
            state.writer.pointee.write(UInt8(1))
            try state.encodeValue(value, codingPath: codingPath)
        }
    }

    static func binaryDecode(_ state: BinaryDecodingState, codingPath: [any CodingKey]) throws -> Self {
        switch try state.reader.pointee.read(UInt8.self) {
        case 0: return .none
        case 1: return .some(try state.decodeValue(Wrapped.self, codingPath: codingPath))
        case let other: throw WireFormatError.invalidValue("Optional tag \(other)")
        }
    }
}

extension Dictionary: BinaryCodingSpecial where Key == String, Value: Codable {
    func binaryEncode(_ state: BinaryEncodingState, codingPath: [any CodingKey]) throws {
        state.writer.pointee.write(UInt32(count))
        for (key, value) in self {
            state.writer.pointee.write(key)
            try state.encodeValue(value, codingPath: codingPath)
        }
    }

    static func binaryDecode(_ state: BinaryDecodingState, codingPath: [any CodingKey]) throws -> Self {
        let count = Int(try state.reader.pointee.read(UInt32.self))
        // Each pair takes at least 4 bytes (the key's length): refuse counts the data cannot hold.
        guard count <= state.reader.pointee.remaining / 4 else { throw WireFormatError.truncated }
        var dictionary: [String: Value] = [:]
        dictionary.reserveCapacity(count)
        for _ in 0..<count {
            let key = try state.reader.pointee.read(String.self)
            dictionary[key] = try state.decodeValue(Value.self, codingPath: codingPath)
        }
        return dictionary
    }
}

/// The `Encoder` a value's `encode(to:)` is handed.
struct BinaryEncoderImpl: Encoder {
    let state: BinaryEncodingState
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(BinaryKeyedEncoding<Key>(state: state, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        BinaryUnkeyedEncoding(state: state, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        BinarySingleValueEncoding(state: state, codingPath: codingPath)
    }
}

/// A keyed container: an entry count (kept up to date as entries are written), then the entries.
struct BinaryKeyedEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: BinaryEncodingState
    let codingPath: [any CodingKey]
    private let countAt: Int

    init(state: BinaryEncodingState, codingPath: [any CodingKey]) {
        self.state = state
        self.codingPath = codingPath
        countAt = state.writer.pointee.count
        state.writer.pointee.write(UInt32(0))
    }

    private func begin(_ key: Key) throws {
        state.countEntry(at: countAt)
        try state.writeKey(key)
    }

    mutating func encodeNil(forKey key: Key) throws {
        try begin(key)
        state.writer.pointee.write(UInt8(0))
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws { try begin(key); value.encode(to: &state.writer.pointee) }
    mutating func encode(_ value: String, forKey key: Key) throws { try begin(key); state.writer.pointee.write(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try begin(key); state.writer.pointee.write(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try begin(key); state.writer.pointee.write(value.bitPattern) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try begin(key); state.writer.pointee.write(Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try begin(key); state.writer.pointee.write(value) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try begin(key); state.writer.pointee.write(value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try begin(key); state.writer.pointee.write(value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try begin(key); state.writer.pointee.write(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try begin(key); state.writer.pointee.write(UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try begin(key); state.writer.pointee.write(value) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try begin(key); state.writer.pointee.write(value) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try begin(key); state.writer.pointee.write(value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try begin(key); state.writer.pointee.write(value) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try begin(key)
        try state.encodeValue(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                         forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        try? begin(key)
        return KeyedEncodingContainer(BinaryKeyedEncoding<NestedKey>(state: state, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        try? begin(key)
        return BinaryUnkeyedEncoding(state: state, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        try? begin(Key(stringValue: "super") ?? Key(intValue: 0)!)
        return BinaryEncoderImpl(state: state, codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        try? begin(key)
        return BinaryEncoderImpl(state: state, codingPath: codingPath + [key])
    }
}

/// An unkeyed container: a count (kept up to date), then the values.
struct BinaryUnkeyedEncoding: UnkeyedEncodingContainer {
    let state: BinaryEncodingState
    let codingPath: [any CodingKey]
    private let countAt: Int
    var count: Int { Int(state.entryCount(at: countAt)) }

    init(state: BinaryEncodingState, codingPath: [any CodingKey]) {
        self.state = state
        self.codingPath = codingPath
        countAt = state.writer.pointee.count
        state.writer.pointee.write(UInt32(0))
    }

    private func begin() { state.countEntry(at: countAt) }

    mutating func encodeNil() throws { begin(); state.writer.pointee.write(UInt8(0)) }
    mutating func encode(_ value: Bool) throws { begin(); value.encode(to: &state.writer.pointee) }
    mutating func encode(_ value: String) throws { begin(); state.writer.pointee.write(value) }
    mutating func encode(_ value: Double) throws { begin(); state.writer.pointee.write(value) }
    mutating func encode(_ value: Float) throws { begin(); state.writer.pointee.write(value.bitPattern) }
    mutating func encode(_ value: Int) throws { begin(); state.writer.pointee.write(Int64(value)) }
    mutating func encode(_ value: Int8) throws { begin(); state.writer.pointee.write(value) }
    mutating func encode(_ value: Int16) throws { begin(); state.writer.pointee.write(value) }
    mutating func encode(_ value: Int32) throws { begin(); state.writer.pointee.write(value) }
    mutating func encode(_ value: Int64) throws { begin(); state.writer.pointee.write(value) }
    mutating func encode(_ value: UInt) throws { begin(); state.writer.pointee.write(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { begin(); state.writer.pointee.write(value) }
    mutating func encode(_ value: UInt16) throws { begin(); state.writer.pointee.write(value) }
    mutating func encode(_ value: UInt32) throws { begin(); state.writer.pointee.write(value) }
    mutating func encode(_ value: UInt64) throws { begin(); state.writer.pointee.write(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        begin()
        try state.encodeValue(value, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        begin()
        return KeyedEncodingContainer(BinaryKeyedEncoding<NestedKey>(state: state, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        begin()
        return BinaryUnkeyedEncoding(state: state, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        begin()
        return BinaryEncoderImpl(state: state, codingPath: codingPath)
    }
}

/// A single value: written as it is, with no framing.
struct BinarySingleValueEncoding: SingleValueEncodingContainer {
    let state: BinaryEncodingState
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { state.writer.pointee.write(UInt8(0)) }
    mutating func encode(_ value: Bool) throws { value.encode(to: &state.writer.pointee) }
    mutating func encode(_ value: String) throws { state.writer.pointee.write(value) }
    mutating func encode(_ value: Double) throws { state.writer.pointee.write(value) }
    mutating func encode(_ value: Float) throws { state.writer.pointee.write(value.bitPattern) }
    mutating func encode(_ value: Int) throws { state.writer.pointee.write(Int64(value)) }
    mutating func encode(_ value: Int8) throws { state.writer.pointee.write(value) }
    mutating func encode(_ value: Int16) throws { state.writer.pointee.write(value) }
    mutating func encode(_ value: Int32) throws { state.writer.pointee.write(value) }
    mutating func encode(_ value: Int64) throws { state.writer.pointee.write(value) }
    mutating func encode(_ value: UInt) throws { state.writer.pointee.write(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { state.writer.pointee.write(value) }
    mutating func encode(_ value: UInt16) throws { state.writer.pointee.write(value) }
    mutating func encode(_ value: UInt32) throws { state.writer.pointee.write(value) }
    mutating func encode(_ value: UInt64) throws { state.writer.pointee.write(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try state.encodeValue(value, codingPath: codingPath) }
}
