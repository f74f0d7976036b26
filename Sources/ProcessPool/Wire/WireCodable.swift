import Foundation

/// A type with a compact binary encoding, used instead of JSON for task arguments and results.
///
/// Conform hot argument and result types to this protocol: the engine then moves them without
/// `JSONEncoder`. `Codable` types that do not conform still work (through JSON). The refinement of
/// `Codable` is what lets the registry's overloads prefer this encoding when both are available.
public protocol WireCodable: Codable, Sendable {
    func encode(to writer: inout WireWriter)
    init(from reader: inout WireReader) throws(WireFormatError)
}

// The conformances below are `@inlinable`: a task's wrapper is specialised in the caller's module
// (see `TaskRegistry.register`), and with these inlined into it a tiny argument or result is a
// few loads and stores rather than calls through witness tables.

extension Int: WireCodable {
    @inlinable public func encode(to writer: inout WireWriter) { writer.write(Int64(self)) }
    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) { self = Int(try reader.read(Int64.self)) }
}

extension Int64: WireCodable {
    @inlinable public func encode(to writer: inout WireWriter) { writer.write(self) }
    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) { self = try reader.read(Int64.self) }
}

extension Int32: WireCodable {
    @inlinable public func encode(to writer: inout WireWriter) { writer.write(self) }
    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) { self = try reader.read(Int32.self) }
}

extension UInt64: WireCodable {
    @inlinable public func encode(to writer: inout WireWriter) { writer.write(self) }
    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) { self = try reader.read(UInt64.self) }
}

extension UInt32: WireCodable {
    @inlinable public func encode(to writer: inout WireWriter) { writer.write(self) }
    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) { self = try reader.read(UInt32.self) }
}

extension UInt8: WireCodable {
    @inlinable public func encode(to writer: inout WireWriter) { writer.write(self) }
    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) { self = try reader.read(UInt8.self) }
}

extension Bool: WireCodable {
    @inlinable public func encode(to writer: inout WireWriter) { writer.write(UInt8(self ? 1 : 0)) }
    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) {
        switch try reader.read(UInt8.self) {
        case 0: self = false
        case 1: self = true
        case let other: throw .invalidValue("Bool byte \(other)")
        }
    }
}

extension Double: WireCodable {
    @inlinable public func encode(to writer: inout WireWriter) { writer.write(self) }
    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) { self = try reader.read(Double.self) }
}

extension String: WireCodable {
    @inlinable public func encode(to writer: inout WireWriter) { writer.write(self) }
    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) { self = try reader.read(String.self) }
}

extension Array: WireCodable where Element: WireCodable {
    @inlinable public func encode(to writer: inout WireWriter) {
        writer.write(UInt32(count))
        // Bytes go over as they are, in one copy (the same bytes the loop would write).
        if Element.self == UInt8.self {
            withUnsafeBytes { writer.writeRaw($0) }
            return
        }
        for element in self { element.encode(to: &writer) }
    }

    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) {
        let count = Int(try reader.read(UInt32.self))
        // Each element takes at least one byte; refuse counts the data cannot hold.
        guard count <= reader.remaining else { throw .truncated }
        if Element.self == UInt8.self {
            let raw = try reader.readRaw(count: count)
            self = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
                initialized = count
            }
            return
        }
        self = []
        reserveCapacity(count)
        for _ in 0..<count { append(try Element(from: &reader)) }
    }
}

extension Data: WireCodable {
    /// A `UInt32` length and the bytes.
    @inlinable public func encode(to writer: inout WireWriter) {
        writer.write(UInt32(count))
        withUnsafeBytes { writer.writeRaw($0) }
    }

    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) {
        let count = Int(try reader.read(UInt32.self))
        self = Data(try reader.readRaw(count: count))
    }
}

extension Optional: WireCodable where Wrapped: WireCodable {
    @inlinable public func encode(to writer: inout WireWriter) {
        switch self {
        case .none: writer.write(UInt8(0))
        case .some(let value):
            writer.write(UInt8(1))
            value.encode(to: &writer)
        }
    }

    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) {
        switch try reader.read(UInt8.self) {
        case 0: self = .none
        case 1: self = .some(try Wrapped(from: &reader))
        case let other: throw .invalidValue("Optional tag \(other)")
        }
    }
}

/// Two values travelling together: the argument of a task that Python would call with a tuple,
/// such as the tutorial's `sum((x, y))`, and the argument list of a two-argument `starmap` task.
public struct Pair<First: WireCodable, Second: WireCodable>: WireCodable {
    public var first: First
    public var second: Second

    public init(_ first: First, _ second: Second) {
        self.first = first
        self.second = second
    }

    @inlinable public func encode(to writer: inout WireWriter) {
        first.encode(to: &writer)
        second.encode(to: &writer)
    }

    @inlinable public init(from reader: inout WireReader) throws(WireFormatError) {
        first = try First(from: &reader)
        second = try Second(from: &reader)
    }
}

extension Pair: Equatable where First: Equatable, Second: Equatable {}
extension Pair: Hashable where First: Hashable, Second: Hashable {}
