import CNCurses
import PoolMonitor
import Testing
@testable import CursesUI

@Suite("KeyDecoder")
struct KeyDecoderTests {
    @Test("control codes: Esc, Tab, Enter, Backspace, Ctrl + letter")
    func controlCodes() {
        #expect(KeyDecoder.key(forCharacter: 27) == .escape)
        #expect(KeyDecoder.key(forCharacter: 9) == .tab)
        #expect(KeyDecoder.key(forCharacter: 13) == .enter)
        #expect(KeyDecoder.key(forCharacter: 10) == .enter)
        #expect(KeyDecoder.key(forCharacter: 127) == .backspace)
        #expect(KeyDecoder.key(forCharacter: 8) == .backspace)
        #expect(KeyDecoder.key(forCharacter: 1) == .control("a"))
        #expect(KeyDecoder.key(forCharacter: 12) == .control("l"))
        #expect(KeyDecoder.key(forCharacter: 26) == .control("z"))
        #expect(KeyDecoder.key(forCharacter: 0) == nil)
        #expect(KeyDecoder.key(forCharacter: 28) == nil)
        #expect(KeyDecoder.key(forCharacter: 0x85) == nil)
    }

    @Test("printable characters, ASCII and beyond")
    func printable() {
        #expect(KeyDecoder.key(forCharacter: 0x20) == .character(" "))
        #expect(KeyDecoder.key(forCharacter: 0x71) == .character("q"))
        #expect(KeyDecoder.key(forCharacter: 0xE9) == .character("é"))
        #expect(KeyDecoder.key(forCharacter: 0x2588) == .character("█"))
        #expect(KeyDecoder.key(forCharacter: 0xD800) == nil)  // a lone surrogate is no character
    }

    @Test("ncurses key codes")
    func keyCodes() {
        let yes = cnc_key_code_yes()
        #expect(KeyDecoder.key(status: yes, value: UInt32(cnc_key_up())) == .up)
        #expect(KeyDecoder.key(status: yes, value: UInt32(cnc_key_down())) == .down)
        #expect(KeyDecoder.key(status: yes, value: UInt32(cnc_key_left())) == .left)
        #expect(KeyDecoder.key(status: yes, value: UInt32(cnc_key_right())) == .right)
        #expect(KeyDecoder.key(status: yes, value: UInt32(cnc_key_enter())) == .enter)
        #expect(KeyDecoder.key(status: yes, value: UInt32(cnc_key_backspace())) == .backspace)
        #expect(KeyDecoder.key(status: yes, value: UInt32(cnc_key_resize())) == .resize)
        for number in 1...12 {
            #expect(KeyDecoder.key(status: yes, value: UInt32(cnc_key_f(Int32(number)))) == .function(number))
        }
        #expect(KeyDecoder.key(status: yes, value: UInt32(cnc_key_f(13))) == nil)
        // The same numbers with OK are characters, not key codes.
        #expect(KeyDecoder.key(status: cnc_ok(), value: 0x71) == .character("q"))
    }
}
