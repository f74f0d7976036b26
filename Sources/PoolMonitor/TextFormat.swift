/// How numbers and times read on screen. Kept in one place so every pane says "0.4s" the same way.
enum TextFormat {
    /// `00:04.1`, or `1:02:03` past an hour: a run's elapsed time.
    static func clock(_ nanoseconds: UInt64) -> String {
        let tenths = nanoseconds / 100_000_000
        let seconds = tenths / 10
        if seconds >= 3600 {
            return "\(seconds / 3600):\(pad2((seconds / 60) % 60)):\(pad2(seconds % 60))"
        }
        return "\(pad2(seconds / 60)):\(pad2(seconds % 60)).\(tenths % 10)"
    }

    /// `85ms`, `4.2s`, `2m05s`, `1h02m`: how long something has taken. Under a second in
    /// milliseconds, so that short tasks do not all read `0.0s`.
    static func duration(_ nanoseconds: UInt64) -> String {
        if nanoseconds < 1_000_000_000 { return "\(nanoseconds / 1_000_000)ms" }
        let tenths = nanoseconds / 100_000_000
        if tenths < 600 { return "\(tenths / 10).\(tenths % 10)s" }
        let seconds = nanoseconds / 1_000_000_000
        if seconds < 3600 { return "\(seconds / 60)m\(pad2(seconds % 60))s" }
        return "\(seconds / 3600)h\(pad2((seconds / 60) % 60))m"
    }

    /// `1.215`: an event time in seconds, to the millisecond.
    static func seconds(_ nanoseconds: UInt64) -> String {
        let milliseconds = nanoseconds / 1_000_000
        let fraction = milliseconds % 1000
        return "\(milliseconds / 1000)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + "\(fraction)"
    }

    /// `12`, `1234`, `12.3k`, `123k`, `4.5M`, `45M`, `1.2G`: counts that must stay short, never
    /// more than 5 columns (a column of width 6 always keeps a space before it).
    static func count(_ value: Int) -> String {
        if value < 0 { return "-" + count(value == .min ? .max : -value) }
        if value < 10_000 { return "\(value)" }
        if value < 100_000 { return "\(value / 1000).\(value % 1000 / 100)k" }
        if value < 1_000_000 { return "\(value / 1000)k" }
        if value < 10_000_000 { return "\(value / 1_000_000).\(value % 1_000_000 / 100_000)M" }
        if value < 1_000_000_000 { return "\(value / 1_000_000)M" }
        if value < 10_000_000_000 { return "\(value / 1_000_000_000).\(value % 1_000_000_000 / 100_000_000)G" }
        return "\(value / 1_000_000_000)G"
    }

    /// A 1-based item range in at most `width` columns: exact (`12501–12600`) when it fits,
    /// else abbreviated (`12.5k–12.6k`), else its start (`12.5k…`).
    static func items(_ range: Range<Int>, width: Int) -> String {
        let exact = items(range)
        if exact.count <= width || range.isEmpty { return exact }
        let short = range.count == 1 ? count(range.lowerBound + 1) : "\(count(range.lowerBound + 1))–\(count(range.upperBound))"
        return short.count <= width ? short : clip(count(range.lowerBound + 1) + "…", width)
    }

    /// A 1-based item number range: `5` or `5–6`.
    static func items(_ range: Range<Int>) -> String {
        if range.isEmpty { return "—" }
        return range.count == 1 ? "\(range.lowerBound + 1)" : "\(range.lowerBound + 1)–\(range.upperBound)"
    }

    /// `text` cut to `width` columns (with `…` when cut) or padded with spaces to it.
    static func fit(_ text: String, _ width: Int) -> String {
        guard width > 0 else { return "" }
        if text.count > width { return String(text.prefix(width - 1)) + "…" }
        return text + String(repeating: " ", count: width - text.count)
    }

    /// `text` cut to `width` columns (with `…` when cut), never padded.
    static func clip(_ text: String, _ width: Int) -> String {
        text.count > width ? String(text.prefix(max(0, width - 1))) + "…" : text
    }

    /// `text` padded on the left to `width` columns.
    static func right(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    /// `512K`, `23.4M`, `1.2G`: memory sizes in at most 5 columns (binary units, as htop).
    static func bytes(_ value: Int) -> String {
        let kib = max(0, value) / 1024
        if kib < 1024 { return "\(kib)K" }
        let mib = kib / 1024
        if mib < 100 { return "\(mib).\(kib % 1024 * 10 / 1024)M" }
        if mib < 1024 { return "\(mib)M" }
        let gib = mib / 1024
        return gib < 100 ? "\(gib).\(mib % 1024 * 10 / 1024)G" : "\(gib)G"
    }

    /// The eight block heights, lowest first.
    static let sparkBlocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// `values` as block heights scaled to their maximum; zero is the lowest block, anything
    /// above zero at least the second, so an almost empty queue still shows.
    /// - Parameter top: the value of the full block (default: the values' maximum).
    static func sparkline(_ values: [Int], top fixedTop: Int? = nil) -> String {
        let top = max(fixedTop ?? 0, values.max() ?? 0)
        return String(values.map { value -> Character in
            guard top > 0, value > 0 else { return sparkBlocks[0] }
            let level = (value * 7 + top - 1) / top  // 1…7: ceil(7·value/top)
            return sparkBlocks[min(7, max(1, level))]
        })
    }

    private static func pad2(_ value: UInt64) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
