/// A key press as the monitor understands it; `CursesUI` translates ncurses key codes into these.
public enum KeyInput: Sendable, Equatable, Hashable {
    /// A printable character (including space).
    case character(Character)
    case up, down, left, right
    case enter, escape, backspace, tab
    /// A function key, 1…12.
    case function(Int)
    /// Ctrl + a letter, lowercase (`.control("l")` for Ctrl-L).
    case control(Character)
    /// The terminal changed size (ncurses' KEY_RESIZE).
    case resize
}
