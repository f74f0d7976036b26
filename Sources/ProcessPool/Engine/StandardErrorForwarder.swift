import Glibc

/// Writes workers' standard-error lines to this process's standard error, whole, from the IO
/// thread (its only user), without ever letting a slow or stalled reader stall the pool.
///
/// Workers' standard error used to be this process's own descriptor; it now comes through a pipe
/// (so that a crash's last lines can be kept), and what was written there still appears here a
/// whole line at a time: lines of different workers never interleave mid-line. A write goes out
/// only when `poll` says the descriptor takes it now, in pieces no larger than a pipe writes
/// atomically, cut at line ends where possible. What a slow reader cannot take yet waits (up to
/// ``pendingLimit`` bytes; the IO loop retries every few milliseconds meanwhile); past that, new
/// lines are dropped and counted, and a note says how many once writing works again. (A worker
/// blocked on a full standard error used to block only itself; the IO thread serves every worker
/// and must not block.)
struct StandardErrorForwarder {
    private let fd: Int32
    private var pending: [UInt8] = []
    /// Bytes dropped since the pending bytes last drained.
    private var dropped = 0

    /// PIPE_BUF on Linux: a pipe takes a write this large whole, and at once when poll says so.
    static let atomicWrite = 4096
    /// At most this many bytes wait for a slow reader.
    static let pendingLimit = 1 << 20
    /// How often the IO loop retries while bytes wait (milliseconds).
    static let retryMilliseconds: Int32 = 20

    init(fd: Int32 = STDERR_FILENO) { self.fd = fd }

    /// Whether bytes wait for the descriptor to take them.
    var hasPending: Bool { !pending.isEmpty }

    /// Writes `bytes` (whole lines) as far as the descriptor takes them now; keeps the rest.
    mutating func forward(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        if pending.count + bytes.count > Self.pendingLimit {
            dropped += bytes.count
        } else {
            pending.append(contentsOf: bytes)
        }
        drain()
    }

    /// Writes what waits, as far as the descriptor takes it now.
    mutating func drain() {
        var start = 0
        while start < pending.count {
            var end = min(start + Self.atomicWrite, pending.count)
            if end < pending.count, let newline = pending[start..<end].lastIndex(of: UInt8(ascii: "\n")) {
                end = newline + 1
            }
            guard writeNow(pending[start..<end]) else { break }
            start = end
        }
        pending.removeFirst(start)
        if pending.isEmpty && dropped > 0 {
            let note = "[ProcessPool: \(dropped) bytes of the workers' standard error were dropped: this process's standard error was not being read]\n"
            dropped = 0
            pending.append(contentsOf: note.utf8)
            drain()
        }
    }

    /// At the pool's end: waits up to `milliseconds` for the descriptor to take what waits.
    mutating func finish(within milliseconds: Int32) {
        var left = milliseconds
        while hasPending && left > 0 {
            var watched = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&watched, 1, min(left, Self.retryMilliseconds))
            left -= Self.retryMilliseconds
            drain()
        }
    }

    /// Writes `piece` (at most ``atomicWrite`` bytes) if the descriptor is writable at once.
    private func writeNow(_ piece: ArraySlice<UInt8>) -> Bool {
        var watched = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&watched, 1, 0) == 1, watched.revents & Int16(POLLOUT) != 0 else { return false }
        return piece.withUnsafeBytes { WorkerProcess.writeFully(fd, $0) }
    }
}
