import CNCurses
import Glibc
import PoolMonitor

/// Turns canvas ``Cell``s into ncurses `cchar_t`s: characters, attributes, colour pair.
///
/// The canvas holds one character per column. To keep that grid intact on screen:
/// - a character that is not one column wide (wide CJK, emoji, a control character) becomes `?`;
/// - combining marks after the first scalar stay with it (up to `CCHARW_MAX - 1` of them);
/// - without a UTF-8 locale, non-ASCII characters become ``GlyphFallback`` look-alikes.
struct CellEncoder {
    /// Whether colour pairs are used; when not, bold/dim/reverse/underline still are.
    let colorsEnabled: Bool
    /// Whether the locale's character set is UTF-8.
    let unicodeEnabled: Bool

    /// Wide-character forms of the non-ASCII characters seen so far (the monitor uses a handful).
    private var cache: [Character: [wchar_t]] = [:]
    private static let cacheLimit = 4096
    private static let attributeMasks = (
        bold: cnc_a_bold(), dim: cnc_a_dim(), reverse: cnc_a_reverse(), underline: cnc_a_underline()
    )

    init(colorsEnabled: Bool, unicodeEnabled: Bool) {
        self.colorsEnabled = colorsEnabled
        self.unicodeEnabled = unicodeEnabled
    }

    /// Sets `target` to `cell`.
    mutating func encode(_ cell: Cell, into target: UnsafeMutablePointer<cchar_t>) {
        let attributes = attributes(of: cell.style)
        let pair = colorsEnabled ? ColorPalette.pair(for: cell.style.color) : 0
        let scalars = cell.character.unicodeScalars
        if let first = scalars.first, first.value >= 0x20, first.value < 0x7F,
           scalars.index(after: scalars.startIndex) == scalars.endIndex {
            // Printable ASCII: the common case, no lookup.
            var character = wchar_t(first.value)
            _ = cnc_set_cell(target, &character, 1, attributes, pair)
            return
        }
        let characters = wideCharacters(for: cell.character)
        characters.withUnsafeBufferPointer { buffer in
            _ = cnc_set_cell(target, buffer.baseAddress, Int32(buffer.count), attributes, pair)
        }
    }

    /// The attribute bits for `style`, colour excluded (the pair is passed separately).
    func attributes(of style: CellStyle) -> attr_t {
        var attributes: attr_t = 0
        if style.bold { attributes |= Self.attributeMasks.bold }
        if style.dim { attributes |= Self.attributeMasks.dim }
        if style.reverse { attributes |= Self.attributeMasks.reverse }
        if style.underline { attributes |= Self.attributeMasks.underline }
        return attributes
    }

    /// The `wchar_t`s to put in one cell for `character`: one spacing character, then combining
    /// marks. Cached.
    mutating func wideCharacters(for character: Character) -> [wchar_t] {
        if let known = cache[character] { return known }
        let computed = Self.wideCharacters(for: character, unicode: unicodeEnabled)
        if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[character] = computed
        return computed
    }

    /// Uncached form of ``wideCharacters(for:)``.
    static func wideCharacters(for character: Character, unicode: Bool) -> [wchar_t] {
        let scalars = Array(character.unicodeScalars)
        guard let first = scalars.first else { return [wchar_t(UInt8(ascii: " "))] }
        guard unicode else {
            return [wchar_t(GlyphFallback.ascii(for: first).value)]
        }
        guard cnc_wcwidth(wchar_t(first.value)) == 1 else {
            return [wchar_t(UInt8(ascii: "?"))]
        }
        var result = [wchar_t(first.value)]
        for mark in scalars.dropFirst() where result.count < Int(cnc_ccharw_max()) {
            if cnc_wcwidth(wchar_t(mark.value)) == 0 { result.append(wchar_t(mark.value)) }
        }
        return result
    }
}
