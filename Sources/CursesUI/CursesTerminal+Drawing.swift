import CNCurses
import PoolMonitor

extension CursesTerminal {
    /// Shows `canvas`: its top-left corner at the screen's, clipped to the current size; screen
    /// cells the canvas does not cover are blank.
    ///
    /// Writes the cells into ncurses' virtual screen, then `wnoutrefresh` + `doupdate`, which send
    /// only what changed since the last frame (everything after ``forceRedraw()`` or a resize).
    /// Owning thread only.
    public func draw(_ canvas: Canvas) {
        checkOwner()
        let (width, height) = size
        let columns = min(width, canvas.width)
        let rows = min(height, canvas.height)
        _ = werase(window)
        if columns > 0, rows > 0 {
            if rowBuffer.count < columns {
                rowBuffer = Array(repeating: cnc_blank_cell(), count: columns)
            }
            rowBuffer.withUnsafeMutableBufferPointer { row in
                guard let cells = row.baseAddress else { return }
                for y in 0..<rows {
                    for x in 0..<columns {
                        encoder.encode(canvas[x, y], into: cells + x)
                    }
                    // Writes without moving the cursor or wrapping, so the bottom-right cell works.
                    _ = cnc_mvwadd_wchnstr(window, Int32(y), 0, cells, Int32(columns))
                }
            }
        }
        if needsFullRepaint {
            _ = clearok(window, true)
            needsFullRepaint = false
        }
        _ = wnoutrefresh(window)
        _ = doupdate()
    }
}
