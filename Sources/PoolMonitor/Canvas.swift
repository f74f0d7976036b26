/// A rectangle of styled character cells: what the monitor draws, before any terminal is involved.
///
/// `PoolMonitor` renders its state into a `Canvas`; `CursesUI` copies the canvas to the screen;
/// tests compare ``lines`` with golden text files. Writes outside the canvas are clipped, never an
/// error, so layout code can be written without bounds arithmetic at every call.
public struct Canvas: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Row-major, `width * height` cells.
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Cell(), count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            cells[y * width + x] = newValue
        }
    }

    /// Writes `text` from column `x` of row `y`, one cell per character, clipped to the canvas
    /// (and to `maxWidth` columns when given).
    /// - Returns: the column after the last character written (or that would have been).
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: CellStyle = .plain, maxWidth: Int? = nil) -> Int {
        var column = x
        let limit = maxWidth.map { x + $0 } ?? Int.max
        for character in text {
            if column >= limit { break }
            self[column, y] = Cell(character, style)
            column += 1
        }
        return column
    }

    /// Fills a rectangle with one character and style.
    public mutating func fill(x: Int, y: Int, width: Int, height: Int, with cell: Cell) {
        for row in y..<(y + max(0, height)) {
            for column in x..<(x + max(0, width)) { self[column, row] = cell }
        }
    }

    /// The characters of each row, trailing spaces removed: the form golden files store.
    public var lines: [String] {
        (0..<height).map { y in
            var line = String(cells[(y * width)..<(y * width + width)].map(\.character))
            while line.last == " " { line.removeLast() }
            return line
        }
    }
}

/// One character cell.
public struct Cell: Sendable, Equatable {
    public var character: Character
    public var style: CellStyle

    public init(_ character: Character = " ", _ style: CellStyle = .plain) {
        self.character = character
        self.style = style
    }
}

/// How a cell is drawn. Colour is never the only carrier of meaning: every coloured state also
/// has its own glyph or word, so `NO_COLOR` and monochrome terminals lose nothing.
public struct CellStyle: Sendable, Equatable, Hashable {
    public var color: CellColor
    public var bold: Bool
    public var dim: Bool
    public var reverse: Bool
    public var underline: Bool

    public init(color: CellColor = .default, bold: Bool = false, dim: Bool = false, reverse: Bool = false, underline: Bool = false) {
        self.color = color
        self.bold = bold
        self.dim = dim
        self.reverse = reverse
        self.underline = underline
    }

    public static let plain = CellStyle()
}

/// The few colours the monitor uses (foreground on the terminal's default background).
public enum CellColor: Sendable, Equatable, Hashable, CaseIterable {
    case `default`, red, green, yellow, blue, magenta, cyan, white
}
