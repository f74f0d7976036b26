import Glibc

/// What waits to be written to a worker's command pipe, in order: frames copied into a buffer,
/// except large runs of encoded arguments, which are written straight from the job's own buffer.
///
/// Copying a 125,000-item chunk into the outbox cost a copy of megabytes and left the outbox that
/// large for the worker's life; a borrowed run costs one more `write` call. Only the IO thread
/// touches it.
struct CommandOutbox {
    /// A run of argument bytes spliced into the stream at `at` (an offset into `buffer`).
    private struct Borrowed {
        let at: Int
        /// Holds the bytes (a copy of the job's writer shares its storage).
        let source: WireWriter
        let range: Range<Int>
    }

    private var buffer = WireWriter(capacity: Self.initialCapacity)
    private var borrowed: [Borrowed] = []
    private var borrowedCount = 0
    /// Bytes of the stream already written.
    private var sent = 0

    private static let initialCapacity = 65_536
    /// Argument runs at least this long are borrowed rather than copied.
    static let borrowAtLeast = 16_384

    var hasPendingBytes: Bool { sent < buffer.count + borrowedCount }

    /// Appends a `chunk` frame.
    /// - Parameter arguments: the run's encoded arguments, in a buffer that does not change
    ///   afterwards (a job's held batch: see ``HeldArguments``), so that a long run can be
    ///   written later straight from it.
    mutating func appendChunk(job: Int, start: Int, count: Int, careful: Bool, task: String,
                              arguments: (source: WireWriter, range: Range<Int>)) {
        let frame = Frame.begin(.chunk, in: &buffer)
        buffer.write(UInt32(job))
        buffer.write(UInt32(start))
        buffer.write(UInt32(count))
        buffer.write(UInt8(careful ? 1 : 0))
        buffer.write(task)
        let length = arguments.range.count
        if length >= Self.borrowAtLeast {
            buffer.patch(UInt32(buffer.count - frame - 4 + length), at: frame)
            borrowed.append(Borrowed(at: buffer.count, source: arguments.source, range: arguments.range))
            borrowedCount += length
        } else {
            arguments.source.withUnsafeBytes { buffer.writeRaw(UnsafeRawBufferPointer(rebasing: $0[arguments.range])) }
            Frame.end(&buffer, at: frame)
        }
    }

    /// Appends the `hello` frame, with the initializer a worker runs first, if any.
    mutating func appendHello(initializer: WorkerInitializer?) {
        let frame = Frame.begin(.hello, in: &buffer)
        if let initializer {
            buffer.write(UInt8(1))
            buffer.write(initializer.taskName)
            buffer.writeRaw(initializer.argument)
        } else {
            buffer.write(UInt8(0))
        }
        Frame.end(&buffer, at: frame)
    }

    enum WriteOutcome {
        /// Everything is written; the outbox is empty again.
        case done
        /// The pipe is full (`EAGAIN`); the rest waits.
        case wouldBlock
        /// The pipe is broken (`EPIPE`: the worker is gone) or another error.
        case failed
    }

    /// Writes as much as `fd` takes, one `write` per contiguous piece.
    mutating func write(to fd: Int32) -> WriteOutcome {
        while hasPendingBytes {
            let written = withNextPiece { piece in Glibc.write(fd, piece.baseAddress!, piece.count) }
            if written > 0 {
                sent += written
            } else if written < 0 && errno == EINTR {
                continue
            } else if written < 0 && errno == EAGAIN {
                return .wouldBlock
            } else {
                return .failed
            }
        }
        removeAll()
        return .done
    }

    /// Calls `body` with the unwritten part of the piece of the stream that `sent` falls in.
    private func withNextPiece(_ body: (UnsafeRawBufferPointer) -> Int) -> Int {
        var bufferStart = 0
        var streamStart = 0
        for run in borrowed {
            let before = run.at - bufferStart
            if sent < streamStart + before {
                return piece(of: bufferStart..<run.at, skipping: sent - streamStart, body)
            }
            streamStart += before
            if sent < streamStart + run.range.count {
                let skip = sent - streamStart
                return run.source.withUnsafeBytes { raw in
                    body(UnsafeRawBufferPointer(rebasing: raw[(run.range.lowerBound + skip)..<run.range.upperBound]))
                }
            }
            streamStart += run.range.count
            bufferStart = run.at
        }
        return piece(of: bufferStart..<buffer.count, skipping: sent - streamStart, body)
    }

    private func piece(of range: Range<Int>, skipping skip: Int, _ body: (UnsafeRawBufferPointer) -> Int) -> Int {
        buffer.withUnsafeBytes { raw in body(UnsafeRawBufferPointer(rebasing: raw[(range.lowerBound + skip)..<range.upperBound])) }
    }

    /// Drops everything (written or not), releasing borrowed runs and an outgrown buffer.
    mutating func removeAll() {
        if buffer.capacity > 16 * Self.initialCapacity {
            buffer = WireWriter(capacity: Self.initialCapacity)
        } else {
            buffer.removeAll()
        }
        borrowed.removeAll()
        borrowedCount = 0
        sent = 0
    }
}
