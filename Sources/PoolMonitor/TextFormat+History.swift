extension TextFormat {
    /// `3.2`: a span of event time in seconds, to the tenth (the header's `REWOUND −3.2 s`).
    static func tenths(_ nanoseconds: UInt64) -> String {
        let tenths = nanoseconds / 100_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// `1`, `2`, `0.5`, `0.25`: a replay speed.
    static func speed(_ speed: Double) -> String {
        if speed >= 1, speed == speed.rounded(), speed < 1e6 { return "\(Int(speed))" }
        let hundredths = Int((speed * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
            .replacingTrailingZero()
    }

    /// `12.3 MiB`, `850 KiB`: a size given in KiB.
    static func kibibytes(_ kilobytes: Int) -> String {
        if kilobytes < 10_240 { return "\(kilobytes) KiB" }
        let tenths = kilobytes * 10 / 1024
        return "\(tenths / 10).\(tenths % 10) MiB"
    }
}

private extension String {
    /// `0.50` → `0.5`.
    func replacingTrailingZero() -> String {
        hasSuffix("0") && contains(".") ? String(dropLast()) : self
    }
}
