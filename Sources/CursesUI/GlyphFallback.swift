/// ASCII stand-ins for the box-drawing, block and punctuation glyphs the monitor draws, used
/// when the locale's character set is not UTF-8 (`LANG=C`, `POSIX`), where ncursesw cannot
/// encode them and would print garbage.
enum GlyphFallback {
    /// The ASCII stand-in for `scalar`: itself when printable ASCII, a look-alike for known
    /// glyphs, `?` for anything else.
    static func ascii(for scalar: Unicode.Scalar) -> Unicode.Scalar {
        if scalar.value >= 0x20, scalar.value < 0x7F { return scalar }
        return table[scalar] ?? "?"
    }

    private static let table: [Unicode.Scalar: Unicode.Scalar] = {
        var table: [Unicode.Scalar: Unicode.Scalar] = [:]
        func map(_ glyphs: String, to ascii: Unicode.Scalar) {
            for scalar in glyphs.unicodeScalars { table[scalar] = ascii }
        }
        map("─━═╌╍┄┅–—", to: "-")
        map("│┃║╎╏┆┇", to: "|")
        map("┌┐└┘├┤┬┴┼╭╮╯╰┏┓┗┛┣┫┳┻╋╔╗╚╝╠╣╦╩╬", to: "+")
        // Eighth blocks, low to high, then full: a rising ramp of ASCII ink.
        let ramp: [(Unicode.Scalar, Unicode.Scalar)] = [
            ("▁", "."), ("▂", ":"), ("▃", "-"), ("▄", "="), ("▅", "+"), ("▆", "*"), ("▇", "%"), ("█", "#"),
        ]
        for (glyph, ascii) in ramp { table[glyph] = ascii }
        map("░", to: ".")
        map("▒", to: ":")
        map("▓", to: "%")
        map("·•∙", to: ".")
        map("…", to: ".")
        map("×✗✘", to: "x")
        map("✓✔", to: "v")
        map("▶►→", to: ">")
        map("◀◄←", to: "<")
        map("▲↑", to: "^")
        map("▼↓", to: "v")
        map("\u{00A0}", to: " ")
        return table
    }()
}
