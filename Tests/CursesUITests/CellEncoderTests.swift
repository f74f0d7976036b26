import CNCurses
import PoolMonitor
import Testing
@testable import CursesUI

@Suite("CellEncoder and GlyphFallback")
struct CellEncoderTests {
    @Test("without UTF-8, glyphs become ASCII look-alikes and the unknown becomes ?")
    func asciiFallback() {
        func ascii(_ text: String) -> String {
            String(text.map { character in
                let wide = CellEncoder.wideCharacters(for: character, unicode: false)
                return Character(Unicode.Scalar(UInt32(wide[0]))!)
            })
        }
        #expect(ascii("┌──┐│└┘├┤") == "+--+|++++")
        #expect(ascii("█▁▂▃▄▅▆▇") == "#.:-=+*%")
        #expect(ascii("·…░") == "...")
        #expect(ascii("abc 123") == "abc 123")
        #expect(ascii("中😀") == "??")
    }

    @Test("style attributes map to ncurses attribute bits; colour stays out of them")
    func attributes() {
        let encoder = CellEncoder(colorsEnabled: true, unicodeEnabled: true)
        #expect(encoder.attributes(of: .plain) == 0)
        #expect(encoder.attributes(of: CellStyle(bold: true)) == cnc_a_bold())
        #expect(encoder.attributes(of: CellStyle(color: .red, reverse: true, underline: true)) == cnc_a_reverse() | cnc_a_underline())
        #expect(encoder.attributes(of: CellStyle(dim: true)) == cnc_a_dim())
    }

    @Test("every colour has its own pair; the default is pair 0")
    func colorPairs() {
        let pairs = CellColor.allCases.map(ColorPalette.pair(for:))
        #expect(pairs == Array(0..<Int32(CellColor.allCases.count)))
    }
}
