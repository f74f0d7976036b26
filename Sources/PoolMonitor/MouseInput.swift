/// A mouse event as the monitor understands it (`CursesUI` decodes ncurses' `KEY_MOUSE`).
public struct MouseInput: Sendable, Equatable, Hashable {
    public enum Kind: Sendable, Equatable, Hashable {
        /// Button 1 went down: focus the pane there and select its row.
        case press
        /// The wheel turned: scroll the pane there.
        case wheelUp, wheelDown
    }

    public var kind: Kind
    /// The cell, 0-based from the top left.
    public var x: Int
    public var y: Int

    public init(kind: Kind, x: Int, y: Int) {
        self.kind = kind
        self.x = x
        self.y = y
    }
}
