import Glibc
import ProcessPool

/// The least any `Codable` coder can cost: an `Encoder` that stores nothing and a `Decoder` that
/// returns constants, driven through a type's synthesized `encode(to:)` and `init(from:)`.
///
/// What is left is Swift's own Codable dispatch, which every coder pays whatever its format: the
/// `Encoder`/`Decoder` existential, `container(keyedBy:)` returning a resilient
/// `KeyedEncodingContainer<Key>` (a metadata look-up for the caller's key type), and per field
/// the container's box, an associated-type witness look-up and a witness call. Like
/// ``BinaryEncoder``, it reuses one container box per thread and key type, the cheapest way a
/// coder can hand out containers.
///
/// ``FloorReading`` adds this cost to ``WireReading``'s hand-written coding: the `struct_floor`
/// workload measures, in the pool, the fastest that a plain `Codable` ``Reading`` could run with
/// a coder doing no work of its own.
enum DispatchFloor {
    static func encode<T: Encodable>(_ value: T) {
        try! value.encode(to: FloorEncoder(state: FloorState.current))  // the floor coder never throws
    }

    static func decode<T: Decodable>(_ type: T.Type) -> T {
        try! T(from: FloorDecoder(state: FloorState.current))  // likewise
    }
}

/// Per-thread state of the floor coders: the reused container boxes, and a counter the
/// containers bump, so that their calls cannot be optimised away.
final class FloorState {
    var touched = 0
    var encodingKey: ObjectIdentifier?
    var encodingBox: AnyObject?
    var decodingKey: ObjectIdentifier?
    var decodingBox: AnyObject?

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            if let raw { Unmanaged<FloorState>.fromOpaque(raw).release() }
        }
        return key
    }()

    static var current: FloorState {
        if let raw = pthread_getspecific(key) { return Unmanaged<FloorState>.fromOpaque(raw).takeUnretainedValue() }
        let state = FloorState()
        pthread_setspecific(key, Unmanaged.passRetained(state).toOpaque())
        return state
    }
}

struct FloorEncoder: Encoder {
    let state: FloorState
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        // A box is a `KeyedEncodingContainer`'s only field (as `BinaryEncoder` checks before it
        // reuses boxes the same way).
        if state.encodingKey == ObjectIdentifier(Key.self), let box = state.encodingBox {
            return unsafeBitCast(box, to: KeyedEncodingContainer<Key>.self)
        }
        let container = KeyedEncodingContainer(FloorKeyedEncoding<Key>(state: state))
        state.encodingKey = ObjectIdentifier(Key.self)
        state.encodingBox = unsafeBitCast(container, to: AnyObject.self)
        return container
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { fatalError("the floor coder takes keyed structs only") }
    func singleValueContainer() -> any SingleValueEncodingContainer { fatalError("the floor coder takes keyed structs only") }
}

struct FloorKeyedEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: FloorState
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws { state.touched &+= 1 }
    mutating func encode(_ value: Bool, forKey key: Key) throws { state.touched &+= 1 }
    mutating func encode(_ value: Int, forKey key: Key) throws { state.touched &+= 1 }
    mutating func encode(_ value: Double, forKey key: Key) throws { state.touched &+= 1 }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { state.touched &+= 1 }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                         forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        fatalError("the floor coder takes flat structs only")
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { fatalError("flat structs only") }
    mutating func superEncoder() -> any Encoder { fatalError("flat structs only") }
    mutating func superEncoder(forKey key: Key) -> any Encoder { fatalError("flat structs only") }
}

struct FloorDecoder: Decoder {
    let state: FloorState
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if state.decodingKey == ObjectIdentifier(Key.self), let box = state.decodingBox {
            return unsafeBitCast(box, to: KeyedDecodingContainer<Key>.self)
        }
        let container = KeyedDecodingContainer(FloorKeyedDecoding<Key>(state: state))
        state.decodingKey = ObjectIdentifier(Key.self)
        state.decodingBox = unsafeBitCast(container, to: AnyObject.self)
        return container
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { fatalError("the floor coder takes keyed structs only") }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { fatalError("the floor coder takes keyed structs only") }
}

struct FloorKeyedDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let state: FloorState
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { false }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { state.touched &+= 1; return false }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { state.touched &+= 1; return state.touched }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { state.touched &+= 1; return 0 }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { fatalError("the floor coder takes scalars only") }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type,
                                                forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        fatalError("flat structs only")
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { fatalError("flat structs only") }
    func superDecoder() throws -> any Decoder { fatalError("flat structs only") }
    func superDecoder(forKey key: Key) throws -> any Decoder { fatalError("flat structs only") }
}

/// ``WireReading`` plus the Codable dispatch floor of ``Reading`` on every encode and decode: what
/// a plain `Codable` ``Reading`` would cost in the pool with a coder doing no work of its own.
struct FloorReading: WireCodable {
    var wire: WireReading

    func encode(to writer: inout WireWriter) {
        DispatchFloor.encode(Reading(id: wire.id, x: wire.x, y: wire.y, ok: wire.ok))
        wire.encode(to: &writer)
    }

    init(_ wire: WireReading) { self.wire = wire }

    init(from reader: inout WireReader) throws(WireFormatError) {
        _ = DispatchFloor.decode(Reading.self)
        wire = try WireReading(from: &reader)
    }
}
