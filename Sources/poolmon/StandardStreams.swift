import Glibc
import Synchronization

/// Standard input, output and error as poolmon finds them, and writing to them with errors seen.
///
/// A stream closed at start is taken by `/dev/null`, opened the wrong way round (write-only for
/// input, read-only for output), so that any use of it fails with EBADF as before, but no pipe,
/// socket or file poolmon opens later can land on 0, 1 or 2: with standard output closed, the
/// totals would otherwise be written into whatever took descriptor 1.
enum StandardStreams {
    private static let closed = Atomic<UInt8>(0)

    /// Fills closed standard descriptors. Call first thing in `main`, before anything opens a file.
    static func reserve() {
        var mask: UInt8 = 0
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 && errno == EBADF {
            mask |= 1 << UInt8(fd)
            let placeholder = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY)
            if placeholder >= 0 && placeholder != fd {
                _ = dup2(placeholder, fd)
                close(placeholder)
            }
        }
        closed.store(mask, ordering: .relaxed)
    }

    /// Whether `fd` (0, 1 or 2) was closed when poolmon started.
    static func wasClosedAtStart(_ fd: Int32) -> Bool {
        closed.load(ordering: .relaxed) & (1 << UInt8(fd)) != 0
    }

    /// Writes all of `text` to `fd` with `write(2)`, unbuffered.
    /// - Throws: the `errno` of the first failed write (EPIPE, ENOSPC, EBADF, EIO…).
    static func write(_ text: String, to fd: Int32) throws(WriteFailure) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw WriteFailure(code: errno, descriptor: fd)
            }
            offset += written
        }
        bytes.removeAll()
    }

    /// Writes one line to standard error, ignoring failure (there is nowhere else to say it).
    static func complain(_ line: String) {
        try? write(line + "\n", to: STDERR_FILENO)
    }

    /// A write that failed.
    struct WriteFailure: Error, CustomStringConvertible {
        let code: Int32
        let descriptor: Int32

        var isBrokenPipe: Bool { code == EPIPE }

        var description: String {
            let stream = descriptor == STDOUT_FILENO ? "standard output" : "descriptor \(descriptor)"
            if code == EBADF && StandardStreams.wasClosedAtStart(descriptor) {
                return "\(stream) is closed"
            }
            return "\(stream): \(String(cString: strerror(code)))"
        }
    }
}
