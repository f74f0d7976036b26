/// Reads values in the pool's wire format from a borrowed byte buffer.
///
/// A reader never outlives the buffer it was made from: it is only created inside
/// `withUnsafeBytes` scopes by the engine and the worker.
public struct WireReader {
    @usableFromInline let base: UnsafeRawBufferPointer
    @usableFromInline var offset: Int

    public init(_ base: UnsafeRawBufferPointer) {
        self.base = base
        self.offset = 0
    }

    /// Bytes not yet read.
    public var remaining: Int { base.count - offset }

    @inlinable
    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(WireFormatError) -> T {
        let size = MemoryLayout<T>.size
        guard base.count - offset >= size else { throw WireFormatError.truncated }
        let value = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    @inlinable
    public mutating func read(_: Double.Type) throws(WireFormatError) -> Double {
        Double(bitPattern: try read(UInt64.self))
    }

    /// Reads a `UInt32` length and that many UTF-8 bytes.
    public mutating func read(_: String.Type) throws(WireFormatError) -> String {
        let count = Int(try read(UInt32.self))
        let raw = try readRaw(count: count)
        return String(decoding: raw, as: UTF8.self)
    }

    /// Borrows the next `count` bytes without copying them.
    public mutating func readRaw(count: Int) throws(WireFormatError) -> UnsafeRawBufferPointer {
        guard count >= 0, base.count - offset >= count else { throw WireFormatError.truncated }
        let slice = UnsafeRawBufferPointer(rebasing: base[offset..<(offset + count)])
        offset += count
        return slice
    }

    /// Borrows every byte not yet read.
    public mutating func readRest() -> UnsafeRawBufferPointer {
        let slice = UnsafeRawBufferPointer(rebasing: base[offset...])
        offset = base.count
        return slice
    }
}

/// The bytes on the wire did not have the expected shape.
public enum WireFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated
    case invalidValue(String)

    public var description: String {
        switch self {
        case .truncated: "truncated wire data"
        case .invalidValue(let what): "invalid wire data: \(what)"
        }
    }
}
