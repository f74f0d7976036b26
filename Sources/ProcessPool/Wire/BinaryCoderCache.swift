import Glibc

/// What ``BinaryEncoder`` and ``BinaryDecoder`` keep from one value to the next, per thread: the
/// encoding buffer, and the keyed containers' boxes.
///
/// Why the boxes: `KeyedEncodingContainer` and `KeyedDecodingContainer` box the concrete
/// container on the heap, and making one, in a coder that cannot be specialised for the user's
/// key type, costs generic-metadata and witness-table look-ups besides the allocation: profiled,
/// most of a small struct's encoding or decoding. A box nobody holds any more
/// (`isKnownUniquelyReferenced`) is handed out again for the next container of the same key type;
/// what differs per container (its entry count, its coding path) lives in a ``ContainerCell``
/// the box's container points to.
///
/// Each thread has its own cache (in thread-specific storage), so nothing here is shared between
/// threads; it is freed when its thread exits.
final class BinaryCoderCache {
    let decoding: UnsafeMutablePointer<BinaryDecodingContext>
    let encoding: UnsafeMutablePointer<BinaryEncodingBuffer>

    private init() {
        decoding = .allocate(capacity: 1)
        decoding.initialize(to: BinaryDecodingContext())
        encoding = .allocate(capacity: 1)
        encoding.initialize(to: BinaryEncodingBuffer())
    }

    deinit {
        decoding.pointee.releaseAll()
        decoding.deinitialize(count: 1)
        decoding.deallocate()
        encoding.pointee.releaseAll()
        encoding.deinitialize(count: 1)
        encoding.deallocate()
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        // The destructor drops the thread's cache when the thread exits.
        pthread_key_create(&key) { raw in
            if let raw { Unmanaged<BinaryCoderCache>.fromOpaque(raw).release() }
        }
        return key
    }()

    /// The calling thread's cache.
    static var current: BinaryCoderCache {
        if let raw = pthread_getspecific(key) { return Unmanaged<BinaryCoderCache>.fromOpaque(raw).takeUnretainedValue() }
        let cache = BinaryCoderCache()
        pthread_setspecific(key, Unmanaged.passRetained(cache).toOpaque())
        return cache
    }
}

/// What differs from one keyed container to the next when a box is reused: for decoding, the
/// entries not yet read; for encoding, where the entry count is written.
struct ContainerCell {
    var entries: Int
    var codingPath: [any CodingKey]
}

/// Reusable keyed-container boxes, and cells for the containers that are not cached.
struct KeyedBoxes {
    struct Entry {
        let key: ObjectIdentifier
        var box: AnyObject
        let cell: UnsafeMutablePointer<ContainerCell>
    }

    /// At most this many boxes are kept (a type nests few distinct key types; a recursive one
    /// nested deeper takes fresh boxes).
    static let limit = 32

    private(set) var entries: [Entry] = []
    /// Cells for containers made past ``limit``, handed out afresh by each top-level value.
    private var spare: [UnsafeMutablePointer<ContainerCell>] = []
    private var spareUsed = 0

    /// A cached box for `key` that nobody else holds, with its cell set to `entries` and
    /// `codingPath`.
    @inline(__always)
    mutating func reusable(_ key: ObjectIdentifier, entries: Int, codingPath: [any CodingKey]) -> AnyObject? {
        var index = 0
        while index < self.entries.count {
            if self.entries[index].key == key, isKnownUniquelyReferenced(&self.entries[index].box) {
                let cell = self.entries[index].cell
                cell.pointee.entries = entries
                cell.pointee.codingPath = codingPath
                return self.entries[index].box
            }
            index += 1
        }
        return nil
    }

    /// A cell for a new container: kept with its box when `cached`, else until the end of the
    /// top-level value. Every container took bytes of its own (a count), so the cells grow with
    /// the bytes coded, not with any number in them.
    mutating func newCell(entries: Int, codingPath: [any CodingKey], cached: Bool) -> UnsafeMutablePointer<ContainerCell> {
        let cell: UnsafeMutablePointer<ContainerCell>
        if cached || spareUsed == spare.count {
            cell = .allocate(capacity: 1)
            cell.initialize(to: ContainerCell(entries: entries, codingPath: codingPath))
            if !cached { spare.append(cell); spareUsed += 1 }
        } else {
            cell = spare[spareUsed]
            spareUsed += 1
            cell.pointee = ContainerCell(entries: entries, codingPath: codingPath)
        }
        return cell
    }

    /// A keyed container (`KeyedEncodingContainer<Key>` or `KeyedDecodingContainer<Key>`) for
    /// `key`'s type: a reused box when one is free, else a new one from `make`, kept for reuse
    /// while there is room. Its cell holds `entries` and `codingPath`.
    @inline(__always)
    mutating func container<Container>(
        for key: ObjectIdentifier, entries: Int, codingPath: [any CodingKey],
        make: (UnsafeMutablePointer<ContainerCell>) -> Container
    ) -> Container {
        // A box is a keyed container's only field; where that ever changes, no caching.
        let cacheable = MemoryLayout<Container>.size == MemoryLayout<AnyObject>.size
        if cacheable, let box = reusable(key, entries: entries, codingPath: codingPath) {
            return unsafeBitCast(box, to: Container.self)
        }
        let cached = cacheable && hasRoom
        let cell = newCell(entries: entries, codingPath: codingPath, cached: cached)
        let container = make(cell)
        if cached { keep(unsafeBitCast(container, to: AnyObject.self), for: key, cell: cell) }
        return container
    }

    /// Whether a new box for this container may be cached.
    var hasRoom: Bool { entries.count < Self.limit }

    mutating func keep(_ box: AnyObject, for key: ObjectIdentifier, cell: UnsafeMutablePointer<ContainerCell>) {
        entries.append(Entry(key: key, box: box, cell: cell))
    }

    /// At the end of a top-level value: the spare cells are free again (a few are kept).
    mutating func endValue() {
        for index in 0..<spareUsed { spare[index].pointee.codingPath = [] }
        spareUsed = 0
        while spare.count > 64 {
            let cell = spare.removeLast()
            cell.deinitialize(count: 1)
            cell.deallocate()
        }
    }

    mutating func releaseAll() {
        for entry in entries {
            entry.cell.deinitialize(count: 1)
            entry.cell.deallocate()
        }
        entries.removeAll()
        for cell in spare {
            cell.deinitialize(count: 1)
            cell.deallocate()
        }
        spare.removeAll()
        spareUsed = 0
    }
}
