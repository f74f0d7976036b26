import Foundation

/// Reads what ``BinaryEncoder`` writes back into any `Decodable` value.
///
/// The input is untrusted as far as memory goes: counts are checked against the bytes left before
/// anything is reserved, and a short or malformed buffer throws, never traps.
public struct BinaryDecoder {
    public init() {}

    /// Decodes a `T` from `reader`, advancing it past the value.
    /// - Throws: ``WireFormatError`` for bytes that are not a `T`, or `DecodingError` from the
    ///   type's own `init(from:)`.
    public func decode<T: Decodable>(_ type: T.Type, from reader: inout WireReader) throws -> T {
        try BinaryDecodingState.with(&reader) { try $0.decodeValue(T.self, codingPath: []) }
    }

    /// ``decode(_:from:)-(_,inout WireReader)`` for a type ``BinaryEncoder/isPlain(_:)`` said is
    /// plain (no casts per item).
    @usableFromInline
    func decodePlain<T: Decodable>(_ type: T.Type, from reader: inout WireReader) throws -> T {
        try BinaryDecodingState.with(&reader) { try T(from: BinaryDecoderImpl(state: $0, codingPath: [])) }
    }

    /// Decodes a `T` from `bytes`, which must hold exactly one.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { raw in
            var reader = WireReader(raw)
            let value = try decode(type, from: &reader)
            guard reader.remaining == 0 else { throw WireFormatError.invalidValue("\(reader.remaining) bytes after the value") }
            return value
        }
    }
}

/// What a top-level decoding reads from: the caller's reader (copied in, and back out when done),
/// and the keyed-container boxes it reuses (see ``BinaryCoderCache``).
struct BinaryDecodingContext {
    var reader = WireReader(UnsafeRawBufferPointer(start: nil, count: 0))
    /// Whether a top-level decoding is using this context (one that starts inside another, from
    /// a custom `init(from:)`, takes a context of its own).
    var active = false
    var boxes = KeyedBoxes()
    /// How many values deep the decoding is (see ``BinaryDecodingState/maxDepth``).
    var depth = 0

    mutating func releaseAll() { boxes.releaseAll() }
}

/// The reader a decoding shares among its containers, through a pointer valid for the length of
/// one top-level decode: reads cost no dynamic exclusivity checks, containers no allocation.
struct BinaryDecodingState {
    let context: UnsafeMutablePointer<BinaryDecodingContext>

    static func with<R>(_ reader: inout WireReader, _ body: (BinaryDecodingState) throws -> R) throws -> R {
        var context = BinaryCoderCache.current.decoding
        let own = context.pointee.active
        if own {
            context = .allocate(capacity: 1)
            context.initialize(to: BinaryDecodingContext())
        }
        context.pointee.active = true
        context.pointee.reader = reader
        defer {
            reader = context.pointee.reader
            context.pointee.reader = WireReader(UnsafeRawBufferPointer(start: nil, count: 0))
            context.pointee.boxes.endValue()
            context.pointee.depth = 0
            context.pointee.active = false
            if own {
                context.pointee.releaseAll()
                context.deinitialize(count: 1)
                context.deallocate()
            }
        }
        return try body(BinaryDecodingState(context: context))
    }

    /// A keyed container whose entry count has just been read: a reused box when there is one.
    func keyedContainer<Key: CodingKey>(_: Key.Type, entries: Int, codingPath: [any CodingKey]) -> KeyedDecodingContainer<Key> {
        context.pointee.boxes.container(for: ObjectIdentifier(Key.self), entries: entries, codingPath: codingPath) { cell in
            KeyedDecodingContainer(BinaryKeyedDecoding<Key>(state: self, cell: cell))
        }
    }

    /// Values nested deeper than this are refused, as `JSONDecoder` refuses them: a recursive
    /// type's decoding recurses on the stack, and input nested without end would overflow it.
    static let maxDepth = 512

    func decodeValue<T: Decodable>(_ type: T.Type, codingPath: [any CodingKey]) throws -> T {
        context.pointee.depth += 1
        defer { context.pointee.depth -= 1 }
        guard context.pointee.depth <= Self.maxDepth else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath,
                                                    debugDescription: "values nested more than \(Self.maxDepth) deep"))
        }
        if let wire = T.self as? any WireCodable.Type {
            return try Self.decodeWire(wire, &context.pointee.reader) as! T  // `wire` is `T.self`: the cast cannot fail
        }
        if let special = T.self as? any BinaryCodingSpecial.Type {
            return try special.binaryDecode(self, codingPath: codingPath) as! T  // likewise
        }
        return try T(from: BinaryDecoderImpl(state: self, codingPath: codingPath))
    }

    private static func decodeWire<W: WireCodable>(_ type: W.Type, _ reader: inout WireReader) throws -> W {
        try W(from: &reader)
    }

    /// Whether the next key (one length byte and UTF-8) is `key`'s; if `consume`, also reads past it.
    @inline(__always)
    func nextKeyIs(_ key: some CodingKey, consume: Bool = false) -> Bool {
        var name = key.stringValue
        return name.withUTF8 { utf8 in
            let reader = context.pointee.reader
            let length = utf8.count
            guard reader.remaining >= 1 + length else { return false }
            let base = reader.base.baseAddress! + reader.offset
            guard base.load(as: UInt8.self) == length else { return false }
            // Keys are short: a loop beats a call to memcmp.
            var index = 0
            while index < length {
                guard base.load(fromByteOffset: 1 + index, as: UInt8.self) == utf8[index] else { return false }
                index += 1
            }
            if consume { context.pointee.reader.offset += 1 + length }
            return true
        }
    }

    /// The next key, without consuming it (for `allKeys`).
    func peekKey() -> String? {
        let reader = context.pointee.reader
        guard reader.remaining >= 1 else { return nil }
        let base = reader.base.baseAddress! + reader.offset
        let length = Int(base.load(as: UInt8.self))
        guard reader.remaining >= 1 + length else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: base + 1, count: length), as: UTF8.self)
    }

    func skipKey() throws {
        let length = Int(try context.pointee.reader.read(UInt8.self))
        _ = try context.pointee.reader.readRaw(count: length)
    }

    /// Reads a container's entry count, refusing one the bytes left cannot hold.
    func readCount(minimumEntrySize: Int) throws -> Int {
        let count = Int(try context.pointee.reader.read(UInt32.self))
        guard count <= context.pointee.reader.remaining / max(minimumEntrySize, 1) else { throw WireFormatError.truncated }
        return count
    }
}

/// The `Decoder` a value's `init(from:)` is handed.
struct BinaryDecoderImpl: Decoder {
    let state: BinaryDecodingState
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        state.keyedContainer(Key.self, entries: try state.readCount(minimumEntrySize: 1), codingPath: codingPath)
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try BinaryUnkeyedDecoding(state: state, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        BinarySingleValueDecoding(state: state, codingPath: codingPath)
    }
}

/// A keyed container, read in the order it was written: an entry is taken when its key is the
/// one asked for; an entry left out by `encodeIfPresent` is simply not there.
struct BinaryKeyedDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let state: BinaryDecodingState
    /// Entries not yet read, and the coding path (a cell, so that a box can be reused and
    /// copies Swift makes of a container share them).
    let cell: UnsafeMutablePointer<ContainerCell>

    var codingPath: [any CodingKey] { cell.pointee.codingPath }
    private var left: Int {
        get { cell.pointee.entries }
        nonmutating set { cell.pointee.entries = newValue }
    }

    /// The keys still to be read. Only the next one can be known without reading its value, which
    /// is all a synthesized enum (one entry) or `decodeIfPresent` needs.
    var allKeys: [Key] {
        guard left > 0, let name = state.peekKey(), let key = Key(stringValue: name) else { return [] }
        return [key]
    }

    func contains(_ key: Key) -> Bool { left > 0 && state.nextKeyIs(key) }

    @inline(__always)
    private func take(_ key: Key) throws {
        guard left > 0, state.nextKeyIs(key, consume: true) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath,
                debugDescription: "no entry for \"\(key.stringValue)\" next (a binary keyed container is read in the order it was written)"))
        }
        left -= 1
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard contains(key) else { return true }
        // An entry written by `encodeNil`: its key and a 0 byte.
        let saved = state.context.pointee.reader
        try state.skipKey()
        if try state.context.pointee.reader.read(UInt8.self) == 0 {
            left -= 1
            return true
        }
        state.context.pointee.reader = saved
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try take(key); return try Bool(from: &state.context.pointee.reader) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try take(key); return try state.context.pointee.reader.read(String.self) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try take(key); return try state.context.pointee.reader.read(Double.self) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try take(key)
        return Float(bitPattern: try state.context.pointee.reader.read(UInt32.self))
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try take(key); return Int(try state.context.pointee.reader.read(Int64.self)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try take(key); return try state.context.pointee.reader.read(Int8.self) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try take(key); return try state.context.pointee.reader.read(Int16.self) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try take(key); return try state.context.pointee.reader.read(Int32.self) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try take(key); return try state.context.pointee.reader.read(Int64.self) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try take(key); return UInt(try state.context.pointee.reader.read(UInt64.self)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try take(key); return try state.context.pointee.reader.read(UInt8.self) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try take(key); return try state.context.pointee.reader.read(UInt16.self) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try take(key); return try state.context.pointee.reader.read(UInt32.self) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try take(key); return try state.context.pointee.reader.read(UInt64.self) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try take(key)
        return try state.decodeValue(T.self, codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type,
                                                forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try take(key)
        return state.keyedContainer(NestedKey.self, entries: try state.readCount(minimumEntrySize: 1), codingPath: codingPath + [key])
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try take(key)
        return try BinaryUnkeyedDecoding(state: state, codingPath: codingPath + [key])
    }

    func superDecoder() throws -> any Decoder {
        try take(Key(stringValue: "super") ?? Key(intValue: 0)!)
        return BinaryDecoderImpl(state: state, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try take(key)
        return BinaryDecoderImpl(state: state, codingPath: codingPath + [key])
    }
}

/// An unkeyed container: a count, then the values in order.
struct BinaryUnkeyedDecoding: UnkeyedDecodingContainer {
    let state: BinaryDecodingState
    let codingPath: [any CodingKey]
    let count: Int?
    private(set) var currentIndex = 0
    var isAtEnd: Bool { currentIndex >= (count ?? 0) }

    init(state: BinaryDecodingState, codingPath: [any CodingKey]) throws {
        self.state = state
        self.codingPath = codingPath
        count = try state.readCount(minimumEntrySize: 1)
    }

    private mutating func next() throws {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "past the container's end"))
        }
        currentIndex += 1
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        guard state.context.pointee.reader.remaining >= 1, state.context.pointee.reader.base[state.context.pointee.reader.offset] == 0 else { return false }
        _ = try state.context.pointee.reader.read(UInt8.self)
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(); return try Bool(from: &state.context.pointee.reader) }
    mutating func decode(_ type: String.Type) throws -> String { try next(); return try state.context.pointee.reader.read(String.self) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(); return try state.context.pointee.reader.read(Double.self) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(); return Float(bitPattern: try state.context.pointee.reader.read(UInt32.self)) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(); return Int(try state.context.pointee.reader.read(Int64.self)) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(); return try state.context.pointee.reader.read(Int8.self) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(); return try state.context.pointee.reader.read(Int16.self) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(); return try state.context.pointee.reader.read(Int32.self) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(); return try state.context.pointee.reader.read(Int64.self) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(); return UInt(try state.context.pointee.reader.read(UInt64.self)) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(); return try state.context.pointee.reader.read(UInt8.self) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(); return try state.context.pointee.reader.read(UInt16.self) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(); return try state.context.pointee.reader.read(UInt32.self) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(); return try state.context.pointee.reader.read(UInt64.self) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next()
        return try state.decodeValue(T.self, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next()
        return state.keyedContainer(NestedKey.self, entries: try state.readCount(minimumEntrySize: 1), codingPath: codingPath)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next()
        return try BinaryUnkeyedDecoding(state: state, codingPath: codingPath)
    }

    mutating func superDecoder() throws -> any Decoder {
        try next()
        return BinaryDecoderImpl(state: state, codingPath: codingPath)
    }
}

/// A single value, read as it was written.
struct BinarySingleValueDecoding: SingleValueDecodingContainer {
    let state: BinaryDecodingState
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        guard state.context.pointee.reader.remaining >= 1, state.context.pointee.reader.base[state.context.pointee.reader.offset] == 0 else { return false }
        state.context.pointee.reader.offset += 1
        return true
    }

    func decode(_ type: Bool.Type) throws -> Bool { try Bool(from: &state.context.pointee.reader) }
    func decode(_ type: String.Type) throws -> String { try state.context.pointee.reader.read(String.self) }
    func decode(_ type: Double.Type) throws -> Double { try state.context.pointee.reader.read(Double.self) }
    func decode(_ type: Float.Type) throws -> Float { Float(bitPattern: try state.context.pointee.reader.read(UInt32.self)) }
    func decode(_ type: Int.Type) throws -> Int { Int(try state.context.pointee.reader.read(Int64.self)) }
    func decode(_ type: Int8.Type) throws -> Int8 { try state.context.pointee.reader.read(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try state.context.pointee.reader.read(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try state.context.pointee.reader.read(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try state.context.pointee.reader.read(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { UInt(try state.context.pointee.reader.read(UInt64.self)) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try state.context.pointee.reader.read(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try state.context.pointee.reader.read(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try state.context.pointee.reader.read(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try state.context.pointee.reader.read(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try state.decodeValue(T.self, codingPath: codingPath) }
}
