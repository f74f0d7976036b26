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
        try BinaryEncodingState.with(&writer) { try $0.encodeValue(value, codingPath: []) }
    }

    /// Whether values of `type` take the generic path (checked once per task handle, not per item).
    @usableFromInline
    static func isPlain<T>(_ type: T.Type) -> Bool {
        !(type is any WireCodable.Type) && !(type is any BinaryCodingSpecial.Type)
    }

    /// ``encode(_:to:)`` for a type ``isPlain(_:)`` said is plain.
    @usableFromInline
    func encodePlain<T: Encodable>(_ value: T, to writer: inout WireWriter) throws {
        try BinaryEncodingState.with(&writer) { try value.encode(to: BinaryEncoderImpl(state: $0, codingPath: [])) }
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

/// What a top-level encoding writes into: a buffer of its own, moved to the caller's
/// ``WireWriter`` in one copy at the end, and the keyed-container boxes it reuses (see
/// ``BinaryCoderCache``).
///
/// Stores through a pointer cost a few instructions where `Array.append(contentsOf:)` cost a
/// generic call per scalar and per key, and a container's entry count is patched in place. A
/// nested ``WireCodable`` value, which writes to a `WireWriter` itself, first flushes the buffer
/// there (``flush()``); positions are therefore counted from the start of this encoding (`origin`
/// in the writer), and ``patchCount(at:)`` finds a count wherever it now lives.
struct BinaryEncodingBuffer {
    /// The writer of the encoding under way (nil between encodings).
    var writer: UnsafeMutablePointer<WireWriter>?
    /// Where this encoding starts in `writer`.
    var origin = 0
    /// Bytes of this encoding already moved to `writer`.
    var flushed = 0
    var base: UnsafeMutableRawPointer
    var count = 0
    var capacity: Int
    /// Whether a top-level encoding is using this buffer (one that starts inside another, from a
    /// custom `encode(to:)`, takes a buffer of its own).
    var active = false
    var boxes = KeyedBoxes()

    static let initialCapacity = 512
    /// A buffer grown past this is given back after its encoding.
    static let keptCapacity = 1 << 20

    init() {
        capacity = Self.initialCapacity
        base = .allocate(byteCount: capacity, alignment: 8)
    }

    mutating func releaseAll() {
        boxes.releaseAll()
        base.deallocate()
    }

    /// Starts an encoding into `writer`.
    mutating func begin(_ writer: UnsafeMutablePointer<WireWriter>) {
        self.writer = writer
        origin = writer.pointee.count
        flushed = 0
        count = 0
        active = true
    }

    /// Ends an encoding (whether or not it succeeded: the caller drops what a failed one wrote).
    mutating func end() {
        flush()
        writer = nil
        active = false
        boxes.endValue()
        if capacity > Self.keptCapacity {
            base.deallocate()
            capacity = Self.initialCapacity
            base = .allocate(byteCount: capacity, alignment: 8)
        }
    }

    /// The position (from the start of this encoding) of the next byte written.
    var position: Int { flushed + count }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(extra) }
    }

    @inline(never)
    mutating func grow(_ extra: Int) {
        let newCapacity = max(capacity * 2, count + extra)
        let block = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 8)
        block.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = block
        capacity = newCapacity
    }

    @inline(__always)
    mutating func write<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        (base + count).storeBytes(of: value.littleEndian, as: T.self)
        count += MemoryLayout<T>.size
    }

    @inline(__always)
    mutating func write(_ value: Double) { write(value.bitPattern) }

    @inline(__always)
    mutating func write(_ value: Bool) { write(UInt8(value ? 1 : 0)) }

    mutating func writeRaw(_ raw: UnsafeRawBufferPointer) {
        guard raw.count > 0 else { return }
        reserve(raw.count)
        (base + count).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
        count += raw.count
    }

    /// A `UInt32` length and the UTF-8 bytes, as ``WireWriter/write(_:)-(String)`` writes them.
    mutating func write(_ string: String) {
        var copy = string
        copy.withUTF8 { utf8 in
            write(UInt32(utf8.count))
            writeRaw(UnsafeRawBufferPointer(utf8))
        }
    }

    /// Adds one to the `UInt32` count written at `position`.
    @inline(__always)
    mutating func patchCount(at position: Int) {
        if position >= flushed {
            let at = base + (position - flushed)
            at.storeBytes(of: (UInt32(littleEndian: at.loadUnaligned(as: UInt32.self)) &+ 1).littleEndian, as: UInt32.self)
        } else {
            let offset = origin + position
            let old = writer!.pointee.load(UInt32.self, at: offset)
            writer!.pointee.patch(old &+ 1, at: offset)
        }
    }

    /// The `UInt32` count written at `position`.
    func count(at position: Int) -> Int {
        if position >= flushed { return Int(UInt32(littleEndian: (base + (position - flushed)).loadUnaligned(as: UInt32.self))) }
        return writer!.pointee.withUnsafeBytes {
            Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: origin + position, as: UInt32.self)))
        }
    }

    /// Moves what is buffered to the writer (before a nested value writes there, and at the end).
    mutating func flush() {
        guard count > 0, let writer else { return }
        writer.pointee.writeRaw(UnsafeRawBufferPointer(start: base, count: count))
        flushed += count
        count = 0
    }
}

/// The buffer an encoding shares among its containers (they write one after another), through a
/// pointer valid for the length of one top-level encoding: no exclusivity checks, no objects.
struct BinaryEncodingState {
    let buffer: UnsafeMutablePointer<BinaryEncodingBuffer>

    /// Runs `body` with a state writing to `writer`, and leaves everything it wrote there.
    static func with(_ writer: inout WireWriter, _ body: (BinaryEncodingState) throws -> Void) throws {
        try withUnsafeMutablePointer(to: &writer) { writer in
            var buffer = BinaryCoderCache.current.encoding
            let own = buffer.pointee.active
            if own {
                buffer = .allocate(capacity: 1)
                buffer.initialize(to: BinaryEncodingBuffer())
            }
            buffer.pointee.begin(writer)
            defer {
                buffer.pointee.end()
                if own {
                    buffer.pointee.releaseAll()
                    buffer.deinitialize(count: 1)
                    buffer.deallocate()
                }
            }
            try body(BinaryEncodingState(buffer: buffer))
        }
    }

    /// Writes a keyed container's entry count (0 for now) and returns the container: a reused box
    /// when there is one.
    func keyedContainer<Key: CodingKey>(_: Key.Type, codingPath: [any CodingKey]) -> KeyedEncodingContainer<Key> {
        let countAt = buffer.pointee.position
        buffer.pointee.write(UInt32(0))
        return buffer.pointee.boxes.container(for: ObjectIdentifier(Key.self), entries: countAt, codingPath: codingPath) { cell in
            KeyedEncodingContainer(BinaryKeyedEncoding<Key>(state: self, cell: cell))
        }
    }

    func encodeValue<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        if let wire = value as? any WireCodable {
            if let bytes = value as? [UInt8] {
                buffer.pointee.write(UInt32(bytes.count))
                bytes.withUnsafeBytes { buffer.pointee.writeRaw($0) }
                return
            }
            buffer.pointee.flush()
            let writer = buffer.pointee.writer!
            let before = writer.pointee.count
            wire.encode(to: &writer.pointee)
            buffer.pointee.flushed += writer.pointee.count - before
        } else if let special = value as? any BinaryCodingSpecial {
            try special.binaryEncode(self, codingPath: codingPath)
        } else {
            try value.encode(to: BinaryEncoderImpl(state: self, codingPath: codingPath))
        }
    }

    /// A key: one length byte and its UTF-8 `stringValue`.
    @inline(__always)
    func writeKey(_ key: some CodingKey) throws {
        var name = key.stringValue
        let fits = name.withUTF8 { utf8 in
            let length = utf8.count
            guard length <= 255 else { return false }
            buffer.pointee.reserve(1 + length)
            let at = buffer.pointee.base + buffer.pointee.count
            at.storeBytes(of: UInt8(length), as: UInt8.self)
            // Keys are short: a loop beats a call to memmove.
            var index = 0
            while index < length {
                at.storeBytes(of: utf8[index], toByteOffset: 1 + index, as: UInt8.self)
                index += 1
            }
            buffer.pointee.count += 1 + length
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
        case .none: state.buffer.pointee.write(UInt8(0))
        case .some(let value):
            state.buffer.pointee.write(UInt8(1))
            try state.encodeValue(value, codingPath: codingPath)
        }
    }

    static func binaryDecode(_ state: BinaryDecodingState, codingPath: [any CodingKey]) throws -> Self {
        switch try state.context.pointee.reader.read(UInt8.self) {
        case 0: return .none
        case 1: return .some(try state.decodeValue(Wrapped.self, codingPath: codingPath))
        case let other: throw WireFormatError.invalidValue("Optional tag \(other)")
        }
    }
}

extension Dictionary: BinaryCodingSpecial where Key == String, Value: Codable {
    func binaryEncode(_ state: BinaryEncodingState, codingPath: [any CodingKey]) throws {
        state.buffer.pointee.write(UInt32(count))
        for (key, value) in self {
            state.buffer.pointee.write(key)
            try state.encodeValue(value, codingPath: codingPath)
        }
    }

    static func binaryDecode(_ state: BinaryDecodingState, codingPath: [any CodingKey]) throws -> Self {
        let count = Int(try state.context.pointee.reader.read(UInt32.self))
        // Each pair takes at least 4 bytes (the key's length): refuse counts the data cannot hold.
        guard count <= state.context.pointee.reader.remaining / 4 else { throw WireFormatError.truncated }
        var dictionary: [String: Value] = [:]
        dictionary.reserveCapacity(count)
        for _ in 0..<count {
            let key = try state.context.pointee.reader.read(String.self)
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
        state.keyedContainer(Key.self, codingPath: codingPath)
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
    /// Where the entry count is written, and the coding path (a cell, so that a box can be
    /// reused).
    let cell: UnsafeMutablePointer<ContainerCell>

    var codingPath: [any CodingKey] { cell.pointee.codingPath }

    @inline(__always)
    private func begin(_ key: Key) throws {
        state.buffer.pointee.patchCount(at: cell.pointee.entries)
        try state.writeKey(key)
    }

    mutating func encodeNil(forKey key: Key) throws {
        try begin(key)
        state.buffer.pointee.write(UInt8(0))
    }

    mutating func encode(_ value: Bool, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(value.bitPattern) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(value) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(value) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(value) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try begin(key); state.buffer.pointee.write(value) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try begin(key)
        try state.encodeValue(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                         forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        try? begin(key)
        return state.keyedContainer(NestedKey.self, codingPath: codingPath + [key])
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
    var count: Int { state.buffer.pointee.count(at: countAt) }

    init(state: BinaryEncodingState, codingPath: [any CodingKey]) {
        self.state = state
        self.codingPath = codingPath
        countAt = state.buffer.pointee.position
        state.buffer.pointee.write(UInt32(0))
    }

    private func begin() { state.buffer.pointee.patchCount(at: countAt) }

    mutating func encodeNil() throws { begin(); state.buffer.pointee.write(UInt8(0)) }
    mutating func encode(_ value: Bool) throws { begin(); state.buffer.pointee.write(value) }
    mutating func encode(_ value: String) throws { begin(); state.buffer.pointee.write(value) }
    mutating func encode(_ value: Double) throws { begin(); state.buffer.pointee.write(value) }
    mutating func encode(_ value: Float) throws { begin(); state.buffer.pointee.write(value.bitPattern) }
    mutating func encode(_ value: Int) throws { begin(); state.buffer.pointee.write(Int64(value)) }
    mutating func encode(_ value: Int8) throws { begin(); state.buffer.pointee.write(value) }
    mutating func encode(_ value: Int16) throws { begin(); state.buffer.pointee.write(value) }
    mutating func encode(_ value: Int32) throws { begin(); state.buffer.pointee.write(value) }
    mutating func encode(_ value: Int64) throws { begin(); state.buffer.pointee.write(value) }
    mutating func encode(_ value: UInt) throws { begin(); state.buffer.pointee.write(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { begin(); state.buffer.pointee.write(value) }
    mutating func encode(_ value: UInt16) throws { begin(); state.buffer.pointee.write(value) }
    mutating func encode(_ value: UInt32) throws { begin(); state.buffer.pointee.write(value) }
    mutating func encode(_ value: UInt64) throws { begin(); state.buffer.pointee.write(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        begin()
        try state.encodeValue(value, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        begin()
        return state.keyedContainer(NestedKey.self, codingPath: codingPath)
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

    mutating func encodeNil() throws { state.buffer.pointee.write(UInt8(0)) }
    mutating func encode(_ value: Bool) throws { state.buffer.pointee.write(value) }
    mutating func encode(_ value: String) throws { state.buffer.pointee.write(value) }
    mutating func encode(_ value: Double) throws { state.buffer.pointee.write(value) }
    mutating func encode(_ value: Float) throws { state.buffer.pointee.write(value.bitPattern) }
    mutating func encode(_ value: Int) throws { state.buffer.pointee.write(Int64(value)) }
    mutating func encode(_ value: Int8) throws { state.buffer.pointee.write(value) }
    mutating func encode(_ value: Int16) throws { state.buffer.pointee.write(value) }
    mutating func encode(_ value: Int32) throws { state.buffer.pointee.write(value) }
    mutating func encode(_ value: Int64) throws { state.buffer.pointee.write(value) }
    mutating func encode(_ value: UInt) throws { state.buffer.pointee.write(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { state.buffer.pointee.write(value) }
    mutating func encode(_ value: UInt16) throws { state.buffer.pointee.write(value) }
    mutating func encode(_ value: UInt32) throws { state.buffer.pointee.write(value) }
    mutating func encode(_ value: UInt64) throws { state.buffer.pointee.write(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try state.encodeValue(value, codingPath: codingPath) }
}
