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
    /// The array's state, behind a pointer: a class's stored `var`s are checked for exclusive
    /// access at run time on every use (`swift_beginAccess`), which showed in the IO thread's
    /// profile at millions of results a second; a pointer's pointee is not.
    private struct State {
        var base: UnsafeMutablePointer<Element>
        var capacity: Int
        var count: Int
        var isMapped: Bool
    }
    private let state: UnsafeMutablePointer<State>

    var count: Int { state.pointee.count }

    /// Storage of at least this many bytes is mapped.
    private static var mapAtLeast: Int { 256 * 1024 }

    /// - Parameter capacity: room to make at once (a `map` job's tables know their final size).
    init(repeating value: Element, count: Int, capacity: Int = 0) {
        let capacity = max(count, capacity, 16)
        let (base, isMapped) = Self.allocate(capacity)
        if !(isMapped && Self.isZero(value)) { base.initialize(repeating: value, count: count) }
        state = .allocate(capacity: 1)
        state.initialize(to: State(base: base, capacity: capacity, count: count, isMapped: isMapped))
    }

    /// Whether `value` is all zero bits: what mapped storage past `count` already holds (fresh
    /// anonymous pages are zero, and nothing here writes past `count` or ever shrinks it), so
    /// that filling it with zeros would only fault its pages in early, on the IO thread.
    private static func isZero(_ value: Element) -> Bool {
        Swift.withUnsafeBytes(of: value) { bytes in bytes.allSatisfy { $0 == 0 } }
    }

    deinit {
        Self.release(state.pointee.base, capacity: state.pointee.capacity, isMapped: state.pointee.isMapped)
        state.deallocate()
    }

    @inline(__always)
    subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < state.pointee.count, "PageArray index out of range")
            return state.pointee.base[index]
        }
        set {
            precondition(index >= 0 && index < state.pointee.count, "PageArray index out of range")
            state.pointee.base[index] = newValue
        }
    }

    /// Sets elements `range` to `value`.
    func fill(_ range: Range<Int>, with value: Element) {
        precondition(range.lowerBound >= 0 && range.upperBound <= state.pointee.count, "PageArray range out of bounds")
        (state.pointee.base + range.lowerBound).update(repeating: value, count: range.count)
    }

    func append(repeating value: Element, count more: Int) {
        reserve(state.pointee.count + more)
        if !(state.pointee.isMapped && Self.isZero(value)) {
            (state.pointee.base + state.pointee.count).initialize(repeating: value, count: more)
        }
        state.pointee.count += more
    }

    /// Makes room for `minimum` elements, doubling as arrays do.
    func reserve(_ minimum: Int) {
        guard minimum > state.pointee.capacity else { return }
        let newCapacity = max(minimum, state.pointee.capacity * 2)
        let (newBase, mapped) = Self.allocate(newCapacity)
        newBase.initialize(from: state.pointee.base, count: state.pointee.count)
        Self.release(state.pointee.base, capacity: state.pointee.capacity, isMapped: state.pointee.isMapped)
        state.pointee.base = newBase
        state.pointee.capacity = newCapacity
        state.pointee.isMapped = mapped
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
        reserve(state.pointee.count + raw.count)
        UnsafeMutableRawPointer(state.pointee.base + state.pointee.count).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
        state.pointee.count += raw.count
    }

    /// Copies `raw` over the bytes from `offset` on (all within ``count``).
    func write(_ raw: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && raw.count <= state.pointee.count - offset, "PageArray range out of bounds")
        guard raw.count > 0 else { return }
        UnsafeMutableRawPointer(state.pointee.base + offset).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
    }

    /// Calls `body` with the bytes `start ..< start + length`.
    func withUnsafeBytes<T>(start: Int, length: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        precondition(start >= 0 && length >= 0 && start + length <= count, "PageArray range out of bounds")
        return try body(UnsafeRawBufferPointer(start: state.pointee.base + start, count: length))
    }
}
