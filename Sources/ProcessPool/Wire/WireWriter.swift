import Glibc

/// Appends values to a growing byte buffer in the pool's little-endian wire format.
///
/// The buffer is its own rather than an `[UInt8]`: appending a few bytes to an array goes through
/// `append(contentsOf:)`'s generic path, 15–30 ns a call on this kind of machine, and the pool
/// writes several small values per item on its hottest paths (encoding arguments, a worker's
/// results). Here a write is a capacity check, a uniqueness check and a store.
///
/// It is a value: copies share their bytes until one of them writes (copy on write), like an
/// array's.
public struct WireWriter: @unchecked Sendable {
    // Safe to send: `storage` is written only by a writer holding the only reference to it
    // (`claim` and `makeUnique` copy it first otherwise), so bytes another copy can see, on any
    // thread, never change; `used` is this value's own.
    @usableFromInline var storage: WireStorage
    /// How many bytes of `storage` this writer holds.
    @usableFromInline var used: Int

    public init(capacity: Int = 0) {
        storage = WireStorage(capacity: max(capacity, 0))
        used = 0
    }

    /// How many bytes were written.
    public var count: Int { used }

    /// How many bytes fit before the writer must grow.
    var capacity: Int { storage.capacity }

    /// Whether nothing was written.
    public var isEmpty: Bool { used == 0 }

    /// A copy of the bytes written so far.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Calls `body` with the bytes written so far (valid only inside `body`).
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.base, count: used))
    }

    @inlinable @inline(__always)
    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        claim(MemoryLayout<T>.size).storeBytes(of: value.littleEndian, as: T.self)
    }

    @inlinable
    public mutating func write(_ value: Double) { write(value.bitPattern) }

    /// Writes raw bytes with no length prefix.
    @inlinable
    public mutating func writeRaw(_ raw: UnsafeRawBufferPointer) {
        guard raw.count > 0 else { return }
        claim(raw.count).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
    }

    /// Writes raw bytes with no length prefix.
    public mutating func writeRaw(_ raw: [UInt8]) { raw.withUnsafeBytes { writeRaw($0) } }

    /// Writes raw bytes with no length prefix.
    public mutating func writeRaw(_ raw: ArraySlice<UInt8>) { raw.withUnsafeBytes { writeRaw($0) } }

    /// Writes, with no length prefix, what `other` holds.
    public mutating func writeRaw(_ other: WireWriter) { other.withUnsafeBytes { writeRaw($0) } }

    /// Writes a `UInt32` length followed by the UTF-8 bytes of `string`.
    public mutating func write(_ string: String) {
        var copy = string
        copy.withUTF8 { utf8 in
            write(UInt32(utf8.count))
            writeRaw(UnsafeRawBufferPointer(utf8))
        }
    }

    /// Makes room for `byteCount` more bytes, counts them as written, and returns where they go.
    @inlinable @inline(__always)
    mutating func claim(_ byteCount: Int) -> UnsafeMutableRawPointer {
        if _slowPath(storage.capacity - used < byteCount || !isKnownUniquelyReferenced(&storage)) {
            reallocate(toHold: byteCount)
        }
        let at = storage.base + used
        used += byteCount
        return at
    }

    /// Moves the bytes to storage of their own with room for `more` bytes after them.
    @usableFromInline
    mutating func reallocate(toHold more: Int) {
        let needed = used + more
        let capacity = needed <= storage.capacity ? storage.capacity : max(needed, storage.capacity * 2, 64)
        let fresh = WireStorage(capacity: capacity)
        fresh.base.copyMemory(from: storage.base, byteCount: used)
        storage = fresh
    }

    /// Makes sure at least `capacity` bytes fit without reallocating.
    public mutating func reserveCapacity(_ capacity: Int) {
        if capacity > storage.capacity || !isKnownUniquelyReferenced(&storage) { reallocate(toHold: max(capacity - used, 0)) }
    }

    /// Overwrites an integer previously written at `offset` (frame lengths, statuses, durations).
    @inlinable
    mutating func patch<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= used, "patch outside the bytes written")
        if !isKnownUniquelyReferenced(&storage) { reallocate(toHold: 0) }
        storage.base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    /// Reads an integer previously written at `offset`.
    func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= used, "load outside the bytes written")
        return T(littleEndian: storage.base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Drops the bytes from `newCount` on (what was half written, say).
    @usableFromInline
    mutating func truncate(to newCount: Int) {
        precondition(newCount >= 0 && newCount <= used, "truncate past the bytes written")
        used = newCount
    }

    /// Drops every byte.
    public mutating func removeAll(keepingCapacity: Bool = true) {
        if keepingCapacity {
            used = 0
        } else {
            self = WireWriter()
        }
    }
}

/// The bytes of a ``WireWriter``: one allocation, freed with the last writer holding it. Its
/// fields never change, so reading them needs no exclusivity check.
///
/// Large storage (a job's encoded input, a big chunk's command) is mapped from the kernel rather
/// than taken from `malloc`, as ``PageArray``'s is, so that it goes back to the system when freed:
/// given back to `malloc`, a job's tens of megabytes stayed in the parent after the job (its
/// RSS after a 1,000,000-item `map` was twice CPython's).
@usableFromInline
final class WireStorage {
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let capacity: Int
    private let isMapped: Bool

    /// Storage of at least this many bytes is mapped.
    private static let mapAtLeast = 256 * 1024

    @usableFromInline
    init(capacity: Int) {
        self.capacity = capacity
        if capacity >= Self.mapAtLeast,
           let mapped = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
           mapped != MAP_FAILED {
            base = mapped
            isMapped = true
        } else {
            // (No mapping to be had: malloc, which reports the shortage itself.)
            base = .allocate(byteCount: max(capacity, 1), alignment: 16)
            isMapped = false
        }
    }

    deinit {
        if isMapped {
            munmap(base, capacity)
        } else {
            base.deallocate()
        }
    }
}
