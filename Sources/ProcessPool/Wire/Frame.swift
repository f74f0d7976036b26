/// The messages of the parent–worker protocol.
///
/// Every frame is `UInt32 length` (of what follows it), `UInt8 kind`, then the kind's fields in
/// the ``WireWriter`` format. Several frames are batched into one `write` whenever possible.
enum FrameKind: UInt8 {
    // parent → worker
    /// `hasInitializer: UInt8`, then `name: String`, `argument: rest`.
    case hello = 1
    /// `job: UInt32`, `start: UInt32`, `count: UInt32`, `flags: UInt8`, `task: String`, then
    /// `count` × (`UInt32 length`, bytes). Flag bit 0 (careful): report and flush every item's
    /// start, so that a crash is pinned on the right item (set on chunks re-run after a crash).
    case chunk = 2

    // worker → parent
    /// The initializer (if any) ran; the worker takes tasks.
    case ready = 10
    /// `message: String`; the worker exits after sending it.
    case initializerFailed = 11
    /// `pid: UInt32`, `host: String` (at most 255 bytes): the first frame of a worker started
    /// through a launcher (ssh, srun), whose PID and host the pool cannot learn otherwise.
    case identity = 13
    /// `job: UInt32`, `index: UInt32`: the worker is about to run this item.
    case itemStarted = 12
    /// `job: UInt32`, `start: UInt32`, `count: UInt32`, then for each of the `count` consecutive
    /// items of one chunk from `start`: `status: UInt8`, `durationNanoseconds: UInt64`, then the
    /// encoded result as `length: UInt32` + bytes (status `ok`) or `typeName: String`,
    /// `description: String`. One frame carries a run of tiny items, so that the per-frame costs
    /// (header, parsing, bookkeeping) are paid once per run rather than once per item.
    case itemResults = 14
    /// `job: UInt32`, `start: UInt32`, `count: UInt32`, `length: UInt32`, `totalNanoseconds:
    /// UInt64`, then `count` results of `length` bytes each, back to back: a run of consecutive
    /// items of one command that all succeeded with results of one size, each shorter than
    /// ``PoolEvent/perItemThreshold``. Tiny items come this way: no status, duration or length
    /// per item to write, send and parse, and the parent records the run in bulk.
    case itemResultsUniform = 15
}

/// How one item ended inside the worker.
enum ItemStatus: UInt8 {
    case ok = 0
    case taskFailed = 1
    case argumentUndecodable = 2
    case resultUnencodable = 3
    case unknownTask = 4
}

enum Frame {
    /// Frames above this size are a protocol violation (a worker gone wrong, not a big result).
    static let maximumLength = 1 << 30
    static let headerSize = 5

    /// Starts a frame; returns the offset to pass to ``end(_:at:)``.
    @inline(__always)
    static func begin(_ kind: FrameKind, in writer: inout WireWriter) -> Int {
        let start = writer.count
        writer.write(UInt32(0))
        writer.write(kind.rawValue)
        return start
    }

    /// Patches the length of the frame started at `start`.
    @inline(__always)
    static func end(_ writer: inout WireWriter, at start: Int) {
        writer.patch(UInt32(writer.count - start - 4), at: start)
    }

    /// The next complete frame in `buffer[offset...]`: its kind byte and body range, and the offset
    /// after it. `nil` when the frame is not complete yet.
    /// - Throws: ``WireFormatError`` when the length is impossible.
    static func next(in buffer: UnsafeRawBufferPointer, at offset: Int) throws(WireFormatError)
        -> (kind: UInt8, body: Range<Int>, end: Int)?
    {
        let available = buffer.count - offset
        guard available >= 4 else { return nil }
        let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        guard length >= 1, length <= maximumLength else {
            throw .invalidValue("frame length \(length)")
        }
        guard available >= 4 + length else { return nil }
        let kind = buffer[offset + 4]
        return (kind, (offset + 5)..<(offset + 4 + length), offset + 4 + length)
    }
}
