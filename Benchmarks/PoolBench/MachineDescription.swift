import Glibc

/// The header of a run: what machine, when, and with what.
enum MachineDescription {
    static func header(rounds: Int, workers: Int, smoke: Bool, python: String) -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M UTC", &parts)
        let date = String(cCharacters: buffer)
        return """
            poolmon-bench \(smoke ? "(smoke) " : "")\(date): \(rounds) round(s), \(workers) workers, both sides alternating
            machine: \(cpuModel()), \(sysconf(Int32(_SC_NPROCESSORS_ONLN))) CPUs online; reference: \(python) multiprocessing.Pool
            """
    }

    private static func cpuModel() -> String {
        guard let file = fopen("/proc/cpuinfo", "r") else { return "unknown CPU" }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(cCharacters: line)
            if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
                return String(text[text.index(after: colon)...]).trimmingWhitespace()
            }
        }
        return "unknown CPU"
    }
}
