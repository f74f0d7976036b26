import Foundation
import Glibc
import ProcessPool

/// Reads an event log that another process may still be writing, as `tail -f` does: what is
/// there, then on each ``readAvailable()`` whatever was appended since. A last line without its
/// newline waits for it; a file that shrinks (truncated and written again by a new
/// `poolmon run --events`) is read again from its start.
///
/// Used by one task at a time (the one following the log); not `Sendable`.
final class EventLogFollower {
    /// What one ``readAvailable()`` found.
    struct Update {
        var events: [PoolEvent]
        /// The file was truncated: these events start it again from its first line.
        var restarted: Bool
    }

    let path: String
    private let descriptor: Int32
    private let isRegularFile: Bool
    private var offset: off_t = 0
    private var decoder = EventLogDecoder()
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)

    /// Opens `path` for reading. Non-blocking, so that a FIFO without a writer yet opens at once
    /// and a read never waits.
    /// - Throws: ``EventLogReader/Failure/unreadable(path:reason:)``.
    init(path: String) throws(EventLogReader.Failure) {
        self.path = path
        var descriptor: Int32
        repeat {
            descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR else {
            _ = close(descriptor)
            throw .unreadable(path: path, reason: "it is a directory")
        }
        self.descriptor = descriptor
        isRegularFile = (info.st_mode & S_IFMT) == S_IFREG
    }

    deinit { _ = close(descriptor) }

    /// Reads and decodes everything appended since the last call.
    /// - Throws: ``EventLogReader/Failure/corrupt(path:_:)`` naming the bad line, or
    ///   ``EventLogReader/Failure/unreadable(path:reason:)``.
    func readAvailable() throws(EventLogReader.Failure) -> Update {
        var update = Update(events: [], restarted: false)
        if isRegularFile {
            var info = stat()
            if fstat(descriptor, &info) == 0 && info.st_size < offset {
                offset = 0
                decoder.reset()
                update.restarted = true
            }
        }
        while true {
            let count = buffer.withUnsafeMutableBytes { bytes in
                isRegularFile ? pread(descriptor, bytes.baseAddress, bytes.count, offset) : read(descriptor, bytes.baseAddress, bytes.count)
            }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            // The end for now: a writer may append more (or, for a FIFO, none is connected yet).
            if count == 0 { break }
            offset += off_t(count)
            do {
                update.events += try decoder.decode(buffer[..<count])
            } catch {
                throw .corrupt(path: path, error)
            }
        }
        return update
    }

    /// How long ago the file last changed, in nanoseconds (0 for a FIFO): about how long ago
    /// its writer flushed its last events.
    var timeSinceLastChange: UInt64 {
        var info = stat()
        guard isRegularFile, fstat(descriptor, &info) == 0 else { return 0 }
        let changed = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        let age = Date().timeIntervalSince1970 - changed
        return age > 0 && age < 1e9 ? UInt64(age * 1e9) : 0
    }
}
