import Glibc

/// Tells an OOM kill from a plain SIGKILL: the kernel counts the OOM killer's kills in the
/// cgroup v2 `memory.events` file (`oom_kill N`), and a worker that died of SIGKILL while that
/// count rose was most likely its victim (workers live in the pool's cgroup).
///
/// Read only when a worker dies of SIGKILL (rare), each read at most 4 KiB. Without cgroup v2 or
/// without permission the count is unknown and every kill reads as a plain SIGKILL. A kill of
/// another process of the same cgroup in the same moment would be counted too: the report says
/// "OOM kill" only with that caveat in mind (the count cannot say whose kill it was).
struct OOMKillCounter {
    /// `memory.events` of this process's cgroup, when there is one.
    private let path: String?
    /// The count at the last look.
    private var seen: Int?

    init() {
        path = Self.eventsPath()
        seen = path.flatMap(Self.count(at:))
    }

    /// Whether the count rose since the last look (false when it cannot be read).
    mutating func sawNewKill() -> Bool {
        guard let path, let now = Self.count(at: path) else { return false }
        defer { seen = now }
        return now > (seen ?? now)
    }

    /// `/sys/fs/cgroup/<path>/memory.events` from `/proc/self/cgroup`'s `0::<path>` line (cgroup
    /// v2), or on cgroup v1 the memory controller's `memory.oom_control` (which has the same
    /// `oom_kill N` line since Linux 4.13): whichever exists and has the count.
    private static func eventsPath() -> String? {
        guard let text = readSmallFile("/proc/self/cgroup") else { return nil }
        var candidates: [String] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[2].contains("..") else { continue }
            let relative = parts[2] == "/" ? "" : String(parts[2])
            if parts[0] == "0" && parts[1].isEmpty {
                candidates.append("/sys/fs/cgroup" + relative + "/memory.events")
            } else if parts[1].split(separator: ",").contains("memory") {
                candidates.append("/sys/fs/cgroup/memory" + relative + "/memory.oom_control")
            }
        }
        return candidates.first { count(at: $0) != nil }
    }

    private static func count(at path: String) -> Int? {
        guard let text = readSmallFile(path) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == "oom_kill" { return Int(fields[1]) }
        }
        return nil
    }

    /// At most 4 KiB of a small kernel file.
    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var used = 0
        while used < buffer.count {
            let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + used, $0.count - used) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            used += got
        }
        return String(decoding: buffer[0..<used], as: UTF8.self)
    }
}
