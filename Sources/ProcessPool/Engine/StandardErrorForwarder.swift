import Glibc

/// Writes workers' standard-error lines to this process's standard error, whole, from the IO
/// thread (its only user), without ever letting a stalled reader stall the pool.
///
/// Workers' standard error used to be this process's own descriptor; it now comes through a pipe
/// (so that a crash's last lines can be kept), and what was written there still appears here,
/// a whole line at a time: lines of different workers never interleave mid-line. A write goes
/// out only when `poll` says the descriptor takes it now, in pieces no larger than a pipe writes
/// atomically; when it does not (a pipe nobody reads), the bytes are dropped and counted, and
/// a note says so once writing works again. A worker blocked on a full standard error used to
/// block only itself; the IO thread serves every worker and must not block.
struct StandardErrorForwarder {
    private let fd: Int32
    /// Bytes dropped since the last successful write.
    private var dropped = 0

    init(fd: Int32 = STDERR_FILENO) { self.fd = fd }

    /// PIPE_BUF on Linux: a pipe takes a write this large whole, and at once when poll says so.
    static let atomicWrite = 4096

    /// Writes `bytes` (whole lines) if the descriptor takes them now.
    mutating func forward(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        if dropped > 0 {
            let note = Array("[ProcessPool: \(dropped) bytes of the workers' standard error were dropped: this process's standard error was not being read]\n".utf8)
            guard writeNow(note[...]) else {
                dropped += bytes.count
                return
            }
            dropped = 0
        }
        var start = 0
        while start < bytes.count {
            let end = min(start + Self.atomicWrite, bytes.count)
            guard writeNow(bytes[start..<end]) else {
                dropped += bytes.count - start
                return
            }
            start = end
        }
    }

    /// Writes `piece` (at most ``atomicWrite`` bytes) if the descriptor is writable at once.
    private func writeNow(_ piece: ArraySlice<UInt8>) -> Bool {
        var watched = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&watched, 1, 0) == 1, watched.revents & Int16(POLLOUT) != 0 else { return false }
        return piece.withUnsafeBytes { WorkerProcess.writeFully(fd, $0) }
    }
}
