import Glibc

/// A byte buffer filled at the end by `read(2)` and consumed from the front; it compacts only when
/// needed, so parsing a frame never copies it. Owned by one thread (a worker's main thread, or the
/// pool's IO thread), never shared.
final class ByteQueue {
    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    /// Start of the unconsumed bytes.
    private(set) var head = 0
    /// End of the valid bytes.
    private(set) var tail = 0

    init(capacity: Int = 65_536) {
        self.capacity = capacity
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    var count: Int { tail - head }
    var isEmpty: Bool { tail == head }

    /// Makes room for at least `minimum` more bytes after `tail`.
    private func reserve(_ minimum: Int) {
        if head > 0 {
            // Slide the unconsumed bytes to the front.
            if tail > head { base.copyMemory(from: base + head, byteCount: tail - head) }
            tail -= head
            head = 0
        }
        guard capacity - tail < minimum else { return }
        var newCapacity = capacity * 2
        while newCapacity - tail < minimum { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: tail)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Reads once from `fd` into the buffer, with room for at least `minimum` bytes.
    /// - Returns: bytes read (0 at end of file), or -1 with `errno` set.
    func read(from fd: Int32, minimum: Int = 16_384) -> Int {
        if capacity - tail < minimum || (head > 0 && head == tail) { reserve(minimum) }
        let got = Glibc.read(fd, base + tail, capacity - tail)
        if got > 0 { tail += got }
        return got
    }

    /// Marks everything before `offset` (an absolute offset, as given to `withUnsafeBytes`) consumed.
    func consume(upTo offset: Int) {
        head = offset
        if head == tail {
            head = 0
            tail = 0
        }
    }

    /// The whole valid region `[0, tail)`; unconsumed bytes start at ``head``.
    func withUnsafeBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try body(UnsafeRawBufferPointer(start: base, count: tail))
    }
}
