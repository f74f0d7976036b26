import Glibc
import PoolMonitor

/// Measures worker processes from `/proc` for the monitor's CPU% and RSS columns: the pure
/// `PoolMonitor` never reads the system, so the UI loop samples here and hands the numbers to
/// ``ResourceTable/record(_:at:)``.
///
/// Reads `/proc/PID/stat` (one bounded read per worker per sample); CPU% is the CPU time used
/// between two samples over the wall time between them. Only for workers of a pool on this
/// machine (never for PIDs read from a log: they name other, or no, processes).
struct WorkerResourceSampler {
    /// CPU ticks and when they were read, per PID, for the next sample's difference.
    private var previous: [Int32: (ticks: UInt64, at: UInt64)] = [:]

    private static let ticksPerSecond = max(1, Double(sysconf(Int32(_SC_CLK_TCK))))
    private static let pageSize = max(1, sysconf(Int32(_SC_PAGESIZE)))

    /// Samples `pids` at `now` (nanoseconds on a monotonic clock). A process that is gone or
    /// unreadable is left out.
    mutating func sample(_ pids: [Int32], now: UInt64) -> [ResourceTable.Sample] {
        var samples: [ResourceTable.Sample] = []
        var next: [Int32: (ticks: UInt64, at: UInt64)] = [:]
        for pid in pids where pid > 0 {
            guard let text = Self.read("/proc/\(pid)/stat"), let stat = Self.parseStat(text) else { continue }
            var cpu = 0.0
            if let before = previous[pid], now > before.at, stat.ticks >= before.ticks {
                let seconds = Double(now - before.at) / 1e9
                cpu = Double(stat.ticks - before.ticks) / Self.ticksPerSecond / seconds * 100
            }
            next[pid] = (stat.ticks, now)
            samples.append(ResourceTable.Sample(pid: pid, cpuPercent: cpu, residentBytes: stat.residentPages * Self.pageSize,
                                                stopped: Self.isStopped(stat.state)))
        }
        previous = next
        return samples
    }

    /// The fields of a `/proc/PID/stat` line the monitor uses: state, user + system CPU ticks,
    /// resident pages. The command name (field 2) may hold spaces and parentheses, so fields
    /// are counted from the last `)`. Nil for anything malformed; never traps.
    static func parseStat(_ text: String) -> (state: Character, ticks: UInt64, residentPages: Int)? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state); utime is field 14, stime 15, rss 24.
        guard fields.count > 21, let state = fields[0].first,
              let user = UInt64(fields[11]), let system = UInt64(fields[12]), let rss = Int(fields[21]) else { return nil }
        let (ticks, overflow) = user.addingReportingOverflow(system)
        return (state, overflow ? .max : ticks, max(0, rss))
    }

    /// A process's state letter from `/proc/PID/stat` (`R`, `S`, `T`, `Z`, …); nil once it is
    /// gone or unreadable.
    static func state(of pid: Int32) -> Character? {
        read("/proc/\(pid)/stat").flatMap(parseStat)?.state
    }

    /// Whether a state letter is a stop: `T` (a stop signal) or `t` (a tracer's).
    static func isStopped(_ state: Character) -> Bool {
        state == "T" || state == "t"
    }

    /// A small file read whole (at most 4 KiB: a stat line is far shorter), or nil.
    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}
