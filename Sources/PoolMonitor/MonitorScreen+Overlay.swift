extension MonitorScreen {
    /// A framed box of `lines` over the middle of the screen (the inspector), cut to fit.
    func drawOverlay(_ canvas: inout Canvas, title: String, lines: [[Span]]) {
        let innerWidth = min(canvas.width - 4, max(title.count + 4, (lines.map(\.width).max() ?? 0) + 2))
        let boxWidth = innerWidth + 2
        let boxHeight = min(canvas.height - 2, lines.count + 2)
        let x = max(0, (canvas.width - boxWidth) / 2)
        let y = max(1, (canvas.height - boxHeight) / 2)
        let frame = CellStyle(color: .cyan, bold: true)
        canvas.fill(x: x, y: y, width: boxWidth, height: boxHeight, with: Cell(" "))
        canvas.put("┌" + String(repeating: "─", count: innerWidth) + "┐", x: x, y: y, style: frame)
        canvas.put(title, x: x + 2, y: y, style: CellStyle(bold: true), maxWidth: innerWidth - 2)
        for row in 1..<max(1, boxHeight - 1) {
            canvas.put("│", x: x, y: y + row, style: frame)
            canvas.put("│", x: x + boxWidth - 1, y: y + row, style: frame)
            canvas.put(lines[row - 1], x: x + 2, y: y + row, maxWidth: innerWidth - 2)
        }
        canvas.put("└" + String(repeating: "─", count: innerWidth) + "┘", x: x, y: y + boxHeight - 1, style: frame)
    }
}
