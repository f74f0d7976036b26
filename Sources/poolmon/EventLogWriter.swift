import ArgumentParser
import Foundation
import Glibc
import ProcessPool

/// Writes pool events to a JSON Lines log (`--events PATH`) while the run goes.
///
/// **Opening.** The path is opened the way every Unix tool opens an output path: with `open(2)`,
/// following a symlink, writing a FIFO or a character device (`/dev/stdout`, `/dev/null`) as a
/// stream, and truncating only a regular file; `-` is standard output. Foundation's
/// `FileManager.createFile` would write a temporary file and rename it over the path, replacing
/// a symlink, a FIFO or a device node (as root, `/dev/stdout` itself).
///
/// **Writing.** A log is most useful while the run goes (`tail -f`, `jq`) and after the run is
/// killed, so it is flushed at least every ``flushInterval`` while events flow; but a busy pool
/// hands over hundreds of thousands of events a second, so never once per event. ``append(_:)``
/// only queues the batch it is given, under a lock. A thread of the writer's own takes what is
/// queued when there is a lot or the interval has passed since its last write, and sleeps until
/// then, so the tail of a burst followed by silence goes out within the interval too. That
/// thread also turns events into JSON: the reader of the pool's events keeps up with the pool,
/// and no CPU of the cooperative pool goes to it. And a write can block for as long as a FIFO's
/// reader is slow, which must never park a thread of the cooperative pool.
///
/// **Errors.** Bytes go out with `write(2)` (retrying EINTR and partial writes); Foundation's
/// `FileHandle.write` would trap on ENOSPC, EFBIG or EPIPE. The first error is kept as
/// ``failure``, the ``onFailure(_:)`` handler is told on the writer's thread (the command
/// stops its pool), and nothing more is written.
final class EventLogWriter: @unchecked Sendable {
    // Safe: every stored `var` below is read and written only while holding `condition`; the
    // `let`s are set once in `init`.

    /// Why the log could not be written: "cannot write the event log 'PATH': REASON".
    struct Failure: Error, CustomStringConvertible {
        var path: String
        var reason: String

        var description: String { "cannot write the event log '\(path)': \(reason)" }
    }

    /// The longest time an event waits in the buffer while the writer is free to write.
    static let flushInterval: UInt64 = 100_000_000
    /// This many events waiting are written at once, without waiting for the interval.
    static let flushCount = 4096
    /// About the most events turned into one write.
    static let writeCount = 65_536
    /// Beyond this many events waiting (a reader that stopped reading), events are dropped and
    /// counted, and an `eventsDropped` line in the log says how many, as the pool does for a
    /// slow subscriber: memory stays bounded and the pool never waits for its log.
    static let queueLimit = 1 << 20

    let path: String
    private let descriptor: Int32
    /// A FIFO or pipe: writes of at most `PIPE_BUF` bytes are atomic there, so each write is cut
    /// at a line boundary below that size and lines never interleave with a worker's output on
    /// a shared standard output.
    private let isPipe: Bool
    private let condition = NSCondition()

    private var pending: [[PoolEvent]] = []
    private var pendingCount = 0
    /// Events taken by the writer thread and not yet written.
    private var writing = false
    /// When the last write began (``EventClock`` nanoseconds; 0: none yet, the first goes out at once).
    private var lastWriteStart: UInt64 = 0
    /// Someone waits in ``waitUntilWritten(timeout:)``: write without waiting for the interval.
    private var flushRequested = false
    private var closing = false
    private var closed = false
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []
    private var storedFailure: Failure?
    private var failureHandler: (@Sendable (Failure) -> Void)?
    private var failureReported = false
    private var unannouncedDrops = 0
    private var droppedTotal = 0

    /// Opens `path` and starts the writer thread. This blocks while a FIFO has no reader (as a
    /// shell's `>` does): call it on the main thread or one of your own, or use ``open(path:)``.
    /// - Throws: a `ValidationError` (exit status 64) naming the path and the reason.
    init(path: String) throws(ValidationError) {
        self.path = path
        (descriptor, isPipe) = try Self.openDescriptor(path)
        let thread = Thread { [self] in runWriterThread() }
        thread.name = "event log"
        thread.start()
    }

    /// ``init(path:)`` on a thread of its own, so that waiting for a FIFO's reader does not park
    /// a thread of the cooperative pool.
    static func open(path: String) async throws -> EventLogWriter {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<EventLogWriter, ValidationError>, Never>) in
            let thread = Thread {
                do throws(ValidationError) {
                    continuation.resume(returning: .success(try EventLogWriter(path: path)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.name = "event log open"
            thread.start()
        }
        return try result.get()
    }

    /// The first write error, if there was one.
    var failure: Failure? {
        condition.lock()
        defer { condition.unlock() }
        return storedFailure
    }

    /// Events dropped because the writer fell too far behind.
    var droppedEventCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return droppedTotal
    }

    /// Sets what to do about a write error; it runs once, on the writer's thread (so it may
    /// block: terminate a pool, wait for a screen), even if the error came first.
    func onFailure(_ handler: @escaping @Sendable (Failure) -> Void) {
        condition.lock()
        failureHandler = handler
        condition.broadcast()
        condition.unlock()
    }

    /// Queues `events` for writing; never blocks on the file, and costs a lock and an array
    /// append. Ignored after an error or `close`.
    func append(_ events: [PoolEvent]) {
        guard let first = events.first else { return }
        condition.lock()
        defer { condition.unlock() }
        guard storedFailure == nil, !closing else { return }
        let wasEmpty = pending.isEmpty
        if unannouncedDrops > 0 && pendingCount < Self.queueLimit {
            pending.append([PoolEvent(time: first.time, kind: .eventsDropped(count: unannouncedDrops))])
            pendingCount += 1
            unannouncedDrops = 0
        }
        guard pendingCount + events.count <= Self.queueLimit else {
            unannouncedDrops += events.count
            droppedTotal += events.count
            return
        }
        pending.append(events)
        pendingCount += events.count
        // An empty queue means the thread sleeps without a deadline: wake it to set one.
        if wasEmpty || pendingCount >= Self.flushCount { condition.broadcast() }
    }

    /// Writes everything appended so far without waiting for the interval, and waits until it
    /// is written (or failed). Blocks the calling thread: not for the cooperative pool.
    /// - Returns: `false` if `timeout` passed first (a FIFO's reader that stopped reading).
    @discardableResult
    func waitUntilWritten(timeout: Duration?) -> Bool {
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0.seconds) }
        condition.lock()
        defer { condition.unlock() }
        flushRequested = true
        condition.broadcast()
        while (!pending.isEmpty || writing) && storedFailure == nil && !closed {
            if let deadline {
                guard condition.wait(until: deadline) else { return false }
            } else {
                condition.wait()
            }
        }
        return true
    }

    /// Writes what is left and closes the file; later appends are ignored. Suspends (never
    /// blocks) until done.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            closing = true
            if closed {
                condition.unlock()
                continuation.resume()
                return
            }
            closeWaiters.append(continuation)
            condition.broadcast()
            condition.unlock()
        }
    }

    /// ``close()`` for a thread that may block (the main thread, a signal thread).
    /// - Returns: `false` if `timeout` passed first.
    @discardableResult
    func blockingClose(timeout: Duration?) -> Bool {
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0.seconds) }
        condition.lock()
        defer { condition.unlock() }
        closing = true
        condition.broadcast()
        while !closed {
            if let deadline {
                guard condition.wait(until: deadline) else { return false }
            } else {
                condition.wait()
            }
        }
        return true
    }

    // MARK: the writer thread

    private func runWriterThread() {
        // The JSON lines of one write; its storage is reused.
        var bytes: [UInt8] = []
        condition.lock()
        while true {
            if let failure = storedFailure, !failureReported, let handler = failureHandler {
                failureReported = true
                condition.unlock()
                handler(failure)
                condition.lock()
                continue
            }
            if storedFailure != nil || pending.isEmpty {
                if closing { break }
                condition.wait()
                continue
            }
            let now = EventClock.now()
            let due = lastWriteStart == 0 ? now : lastWriteStart &+ Self.flushInterval
            guard closing || flushRequested || pendingCount >= Self.flushCount || now >= due else {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(due - now) / 1e9))
                continue
            }
            // At most about `writeCount` events per write: a backlog goes out in pieces, so that
            // its JSON never needs one huge buffer.
            var taken = 0
            var takenEvents = 0
            while taken < pending.count && takenEvents < Self.writeCount {
                takenEvents += pending[taken].count
                taken += 1
            }
            let batches = pending[..<taken]
            pending.removeFirst(taken)
            pendingCount -= takenEvents
            writing = true
            lastWriteStart = now
            condition.unlock()
            bytes.removeAll(keepingCapacity: true)
            for batch in batches {
                for event in batch {
                    bytes.append(contentsOf: event.jsonLine.utf8)
                    bytes.append(UInt8(ascii: "\n"))
                }
            }
            let error = writeAll(bytes)
            condition.lock()
            writing = false
            if pending.isEmpty { flushRequested = false }
            if let error {
                storedFailure = Failure(path: path, reason: String(cString: strerror(error)))
                pending = []
                pendingCount = 0
            }
            condition.broadcast()
        }
        _ = Glibc.close(descriptor)
        closed = true
        let waiters = closeWaiters
        closeWaiters = []
        condition.broadcast()
        condition.unlock()
        for waiter in waiters { waiter.resume() }
    }

    /// Writes all of `bytes`, retrying interrupted and partial writes.
    /// - Returns: the `errno` of the error that stopped it, or `nil`.
    private func writeAll(_ bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBytes { buffer -> Int32? in
            guard let base = buffer.baseAddress else { return nil }
            var offset = 0
            while offset < buffer.count {
                let end = isPipe ? Self.atomicChunkEnd(buffer, from: offset) : buffer.count
                let written = write(descriptor, base + offset, end - offset)
                if written > 0 {
                    offset += written
                    continue
                }
                if written == 0 { return EIO }
                switch errno {
                case EINTR: continue
                case EAGAIN, EWOULDBLOCK:
                    // An inherited standard output may be non-blocking: wait until it takes more.
                    var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&ready, 1, -1)
                case let error: return error
                }
            }
            return nil
        }
    }

    /// Where the next write to a pipe should end: after the last whole line within `PIPE_BUF`
    /// bytes of `offset` (or after one longer line).
    private static func atomicChunkEnd(_ buffer: UnsafeRawBufferPointer, from offset: Int) -> Int {
        let limit = Int(PIPE_BUF)
        if buffer.count - offset <= limit { return buffer.count }
        let newline = UInt8(ascii: "\n")
        if let last = buffer[offset..<(offset + limit)].lastIndex(of: newline) { return last + 1 }
        return buffer[(offset + limit)...].firstIndex(of: newline).map { $0 + 1 } ?? buffer.count
    }

    // MARK: opening

    /// Opens the log's descriptor, above 2: standard input or output may have been closed when
    /// poolmon started, and the log must not become either.
    private static func openDescriptor(_ path: String) throws(ValidationError) -> (descriptor: Int32, isPipe: Bool) {
        func failure(_ code: Int32) -> ValidationError {
            ValidationError(Failure(path: path, reason: String(cString: strerror(code))).description)
        }
        var descriptor: Int32
        if path == "-" {
            descriptor = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)
            guard descriptor >= 0 else { throw failure(errno) }
        } else {
            repeat {
                descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0o644)
            } while descriptor < 0 && errno == EINTR
            guard descriptor >= 0 else { throw failure(errno) }
            if descriptor <= STDERR_FILENO {
                let moved = fcntl(descriptor, F_DUPFD_CLOEXEC, 3)
                let error = errno
                _ = Glibc.close(descriptor)
                guard moved >= 0 else { throw failure(error) }
                descriptor = moved
            }
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let error = errno
            _ = Glibc.close(descriptor)
            throw failure(error)
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFREG && path != "-" {
            if let shared = sharedStandardStream(info) {
                // `--events /dev/stdout > out.jsonl`: a second description of the same file would
                // write from offset 0 over the run's own lines. Share standard output's instead
                // (its offset and its O_APPEND), and leave truncating to the shell.
                _ = Glibc.close(descriptor)
                descriptor = fcntl(shared, F_DUPFD_CLOEXEC, 3)
                guard descriptor >= 0 else { throw failure(errno) }
            } else if isKernelInterface(descriptor) {
                _ = Glibc.close(descriptor)
                throw ValidationError(Failure(path: path, reason: "a kernel interface file (/proc, /sys), not a place for a log").description)
            } else if ftruncate(descriptor, 0) != 0 {
                let error = errno
                _ = Glibc.close(descriptor)
                throw failure(error)
            }
        }
        return (descriptor, type == S_IFIFO)
    }

    /// Standard output or error, if it is the file `info` describes.
    private static func sharedStandardStream(_ info: stat) -> Int32? {
        for stream in [STDOUT_FILENO, STDERR_FILENO] {
            var standard = stat()
            if fstat(stream, &standard) == 0 && standard.st_dev == info.st_dev && standard.st_ino == info.st_ino {
                return stream
            }
        }
        return nil
    }

    /// Whether a "regular file" is one of procfs or sysfs: root may open `/proc/version` for
    /// writing and even truncate it, and only the first write fails. Refused at the start, with
    /// the other unwritable paths. (Where the descriptor really points, symlinks resolved.)
    private static func isKernelInterface(_ descriptor: Int32) -> Bool {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)") else { return false }
        return target.hasPrefix("/proc/") || target.hasPrefix("/sys/")
    }
}

extension Duration {
    /// The duration in seconds, for APIs that take a `TimeInterval`.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
