/// A run of text in one style: screen lines are built as lists of spans, then written in one go.
public struct Span: Sendable, Equatable {
    public var text: String
    public var style: CellStyle

    public init(_ text: String, _ style: CellStyle = .plain) {
        self.text = text
        self.style = style
    }

    /// Columns the text takes (one per character: the monitor draws only single-width ones).
    public var width: Int { text.count }
}

extension Array where Element == Span {
    /// Total columns.
    var width: Int { reduce(0) { $0 + $1.width } }
}

extension Canvas {
    /// Writes spans one after another from column `x` of row `y`, clipped to `maxWidth` columns.
    /// - Returns: the column after the last one written.
    @discardableResult
    public mutating func put(_ spans: [Span], x: Int, y: Int, maxWidth: Int? = nil) -> Int {
        let limit = maxWidth.map { x + $0 } ?? width
        var column = x
        for span in spans where column < limit {
            column = put(span.text, x: column, y: y, style: span.style, maxWidth: limit - column)
        }
        return column
    }

    /// Gives row `y`, columns `x ..< x + width`, the style `style`, keeping the characters (the
    /// selected worker row is drawn in reverse video this way).
    public mutating func restyle(x: Int, y: Int, width: Int, with transform: (inout CellStyle) -> Void) {
        guard y >= 0, y < height else { return }
        for column in max(0, x)..<min(self.width, x + max(0, width)) {
            transform(&self[column, y].style)
        }
    }
}
