/// A key press as the monitor understands it; `CursesUI` translates ncurses key codes into these.
public enum KeyInput: Sendable, Equatable, Hashable {
    /// A printable character (including space).
    case character(Character)
    case up, down, left, right
    /// Shift + ← / → (one second of rewind), where the terminal reports them.
    case shiftLeft, shiftRight
    case pageUp, pageDown, home, end
    case enter, escape, backspace, tab
    /// Shift-Tab.
    case backTab
    /// The mouse: a press or a wheel turn at a cell.
    case mouse(MouseInput)
    /// A function key, 1…12.
    case function(Int)
    /// Ctrl + a letter, lowercase (`.control("l")` for Ctrl-L).
    case control(Character)
    /// The terminal changed size (ncurses' KEY_RESIZE).
    case resize
}
