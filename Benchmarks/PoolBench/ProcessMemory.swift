import Glibc

/// Reads a process's memory figures from `/proc/<pid>/status`.
enum ProcessMemory {
    /// `field` (`VmRSS` now, `VmHWM` peak) of process `pid` in MB (1 MB = 1024 kB), 0 if unreadable.
    static func residentMegabytes(pid: String = "self", field: String = "VmRSS") -> Double {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(cCharacters: line)
            guard text.hasPrefix(field + ":") else { continue }
            let kilobytes = text.dropFirst(field.count + 1).split(whereSeparator: \.isWhitespace).first.flatMap { Double($0) }
            return (kilobytes ?? 0) / 1024
        }
        return 0
    }
}
