/// The signal menu's box, over the top of the worker grid (the selected worker stays in view
/// below it when the grid has rows enough).
extension MonitorScreen {
    func drawSignalMenu(_ menu: SignalMenu, on canvas: inout Canvas) {
        let lines = menu.lines
        let footer = "Enter sends · Esc cancels"
        let innerWidth = min(canvas.width - 4, max(footer.count, lines.map(\.count).max() ?? 0) + 2)
        let boxWidth = innerWidth + 2
        let boxHeight = min(canvas.height, lines.count + 3)
        let x = max(0, canvas.width - boxWidth - 2)
        let y = min(max(0, canvas.height - boxHeight), 3)
        let frame = CellStyle(color: .red, bold: true)
        canvas.fill(x: x, y: y, width: boxWidth, height: boxHeight, with: Cell(" "))
        canvas.put("┌" + String(repeating: "─", count: innerWidth) + "┐", x: x, y: y, style: frame)
        canvas.put(" signal ", x: x + 2, y: y, style: CellStyle(bold: true))
        for row in 1..<(boxHeight - 1) {
            canvas.put("│", x: x, y: y + row, style: frame)
            canvas.put("│", x: x + boxWidth - 1, y: y + row, style: frame)
            let index = row - 1
            if index < lines.count {
                // Line 0 is the title; line i is choice i - 1, the selected one in reverse video.
                let selected = index - 1 == menu.selected
                let style = index == 0 ? CellStyle(bold: true) : (selected ? CellStyle(bold: true, reverse: true) : .plain)
                let text = (selected ? "▶" : " ") + lines[index]
                canvas.put(TextFormat.fit(text, innerWidth - 1), x: x + 1, y: y + row, style: style)
            } else {
                canvas.put(footer, x: x + 2, y: y + row, style: CellStyle(dim: true), maxWidth: innerWidth - 1)
            }
        }
        canvas.put("└" + String(repeating: "─", count: innerWidth) + "┘", x: x, y: y + boxHeight - 1, style: frame)
    }
}
