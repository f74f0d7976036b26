import Glibc

/// A growable array of plain values whose storage, once large, is mapped from the kernel rather
/// than taken from `malloc`. Only the IO thread touches one.
///
/// A job's per-item tables take megabytes for a million items. Given back to `malloc`, that memory
/// stays in the process: once a program has freed one large block, glibc serves even large
/// requests from its heaps and trims them only past a threshold that has grown with it, so the
/// pool's footprint would keep the size of its largest job. Mapped storage goes back to the
/// system the moment the array is freed.
final class PageArray<Element: BitwiseCopyable> {
    private var base: UnsafeMutablePointer<Element>
    private var capacity: Int
    private(set) var count: Int
    private var isMapped: Bool

    /// Storage of at least this many bytes is mapped.
    private static var mapAtLeast: Int { 256 * 1024 }

    init(repeating value: Element, count: Int) {
        let capacity = max(count, 16)
        (base, isMapped) = Self.allocate(capacity)
        self.capacity = capacity
        self.count = count
        base.initialize(repeating: value, count: count)
    }

    deinit { Self.release(base, capacity: capacity, isMapped: isMapped) }

    @inline(__always)
    subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < count, "PageArray index out of range")
            return base[index]
        }
        set {
            precondition(index >= 0 && index < count, "PageArray index out of range")
            base[index] = newValue
        }
    }

    func append(repeating value: Element, count more: Int) {
        reserve(count + more)
        (base + count).initialize(repeating: value, count: more)
        count += more
    }

    /// Makes room for `minimum` elements, doubling as arrays do.
    func reserve(_ minimum: Int) {
        guard minimum > capacity else { return }
        let newCapacity = max(minimum, capacity * 2)
        let (newBase, mapped) = Self.allocate(newCapacity)
        newBase.initialize(from: base, count: count)
        Self.release(base, capacity: capacity, isMapped: isMapped)
        base = newBase
        capacity = newCapacity
        isMapped = mapped
    }

    private static func allocate(_ capacity: Int) -> (UnsafeMutablePointer<Element>, Bool) {
        let bytes = capacity * MemoryLayout<Element>.stride
        if bytes >= mapAtLeast {
            let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            if let raw, raw != UnsafeMutableRawPointer(bitPattern: -1) {
                return (raw.bindMemory(to: Element.self, capacity: capacity), true)
            }
            // No mapping to be had: fall back to malloc, which will report the shortage itself.
        }
        return (UnsafeMutablePointer<Element>.allocate(capacity: capacity), false)
    }

    private static func release(_ base: UnsafeMutablePointer<Element>, capacity: Int, isMapped: Bool) {
        if isMapped {
            munmap(base, capacity * MemoryLayout<Element>.stride)
        } else {
            base.deallocate()
        }
    }
}

extension PageArray where Element == UInt8 {
    func append(contentsOf raw: UnsafeRawBufferPointer) {
        guard raw.count > 0 else { return }
        reserve(count + raw.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
        count += raw.count
    }

    /// Calls `body` with the bytes `start ..< start + length`.
    func withUnsafeBytes<T>(start: Int, length: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        precondition(start >= 0 && length >= 0 && start + length <= count, "PageArray range out of bounds")
        return try body(UnsafeRawBufferPointer(start: base + start, count: length))
    }
}
