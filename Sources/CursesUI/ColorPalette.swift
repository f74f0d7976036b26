import CNCurses
import Glibc
import PoolMonitor

/// The colour pairs a session sets up: one per ``CellColor``, foreground on the terminal's own
/// background. Pair 0 (ncurses' fixed default pair) is ``CellColor/default``.
enum ColorPalette {
    /// The pair number for `color`: its position in `CellColor.allCases`.
    static func pair(for color: CellColor) -> Int32 {
        switch color {
        case .default: 0
        case .red: 1
        case .green: 2
        case .yellow: 3
        case .blue: 4
        case .magenta: 5
        case .cyan: 6
        case .white: 7
        }
    }

    /// The ncurses colour number of `color`'s foreground, or -1 (the terminal default).
    static func foreground(of color: CellColor) -> Int16 {
        switch color {
        case .default: -1
        case .red: Int16(COLOR_RED)
        case .green: Int16(COLOR_GREEN)
        case .yellow: Int16(COLOR_YELLOW)
        case .blue: Int16(COLOR_BLUE)
        case .magenta: Int16(COLOR_MAGENTA)
        case .cyan: Int16(COLOR_CYAN)
        case .white: Int16(COLOR_WHITE)
        }
    }

    /// Starts colour and defines the pairs. Call on the owning thread after `newterm`.
    /// - Returns: whether colours are in use (the terminal has them and `start_color` worked).
    static func setUp() -> Bool {
        guard has_colors() else { return false }
        guard start_color() == cnc_ok() else { return false }
        // -1 (the terminal's own background) needs use_default_colors; without it, black.
        let background: Int16 = use_default_colors() == cnc_ok() ? -1 : Int16(COLOR_BLACK)
        for color in CellColor.allCases where color != .default {
            var foreground = foreground(of: color)
            if foreground < 0 { foreground = Int16(COLOR_WHITE) }
            _ = init_pair(Int16(pair(for: color)), foreground, background)
        }
        return true
    }

    /// Whether the user asked for no colour: `NO_COLOR` set to a non-empty value (no-color.org).
    static var colorDisabledByEnvironment: Bool {
        guard let value = getenv("NO_COLOR") else { return false }
        return value.pointee != 0
    }
}
