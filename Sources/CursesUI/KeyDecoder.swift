import CNCurses
import PoolMonitor

/// Translates what `wget_wch` reports into ``KeyInput``.
///
/// `wget_wch` returns `OK` with a character, or `KEY_CODE_YES` with an ncurses key code
/// (`KEY_UP`, `KEY_F(5)`, `KEY_RESIZE`, …). Keys the monitor has no use for map to `nil` and are
/// skipped by the reader.
enum KeyDecoder {
    /// - Parameters:
    ///   - status: `wget_wch`'s return value (`OK` or `KEY_CODE_YES`).
    ///   - value: the `wint_t` it stored.
    static func key(status: Int32, value: UInt32) -> KeyInput? {
        if status == cnc_key_code_yes() {
            return key(forKeyCode: Int32(bitPattern: value))
        }
        return key(forCharacter: value)
    }

    /// A character `wget_wch` returned with `OK`: printable characters, and the control codes a
    /// terminal sends for Esc, Tab, Enter (CR in `nonl` mode, or LF), Backspace (DEL or Ctrl-H),
    /// and Ctrl + letter.
    static func key(forCharacter value: UInt32) -> KeyInput? {
        switch value {
        case 27: return .escape
        case 9: return .tab
        case 10, 13: return .enter
        case 8, 127: return .backspace
        case 1...26:
            // Ctrl-A is 1 … Ctrl-Z is 26 (minus the codes above: Ctrl-H, I, J, M).
            return .control(Character(Unicode.Scalar(UInt8(value) + 0x60)))
        case 0..<32, 128..<160:
            return nil  // Ctrl-@, Ctrl-\ … Ctrl-_, C1 controls
        default:
            guard let scalar = Unicode.Scalar(value) else { return nil }
            return .character(Character(scalar))
        }
    }

    /// An ncurses key code (`wget_wch` returned `KEY_CODE_YES`).
    static func key(forKeyCode code: Int32) -> KeyInput? {
        if code == cnc_key_mouse() { return mouse() }
        return keyCodes[code]
    }

    /// The mouse event ncurses holds after `KEY_MOUSE`, as a pure ``MouseInput`` (nil for a
    /// button the monitor does not use).
    private static func mouse() -> KeyInput? {
        var x: Int32 = 0, y: Int32 = 0
        let kind: MouseInput.Kind
        switch cnc_get_mouse(&x, &y) {
        case 1: kind = .press
        case 2: kind = .wheelUp
        case 3: kind = .wheelDown
        default: return nil
        }
        return .mouse(MouseInput(kind: kind, x: Int(x), y: Int(y)))
    }

    private static let keyCodes: [Int32: KeyInput] = {
        var table: [Int32: KeyInput] = [
            cnc_key_up(): .up,
            cnc_key_down(): .down,
            cnc_key_left(): .left,
            cnc_key_right(): .right,
            cnc_key_enter(): .enter,
            cnc_key_backspace(): .backspace,
            cnc_key_resize(): .resize,
            cnc_key_ppage(): .pageUp,
            cnc_key_npage(): .pageDown,
            cnc_key_home(): .home,
            cnc_key_end(): .end,
            cnc_key_sleft(): .shiftLeft,
            cnc_key_sright(): .shiftRight,
            cnc_key_btab(): .backTab,
        ]
        for number in 1...12 {
            table[cnc_key_f(Int32(number))] = .function(number)
        }
        return table
    }()
}
