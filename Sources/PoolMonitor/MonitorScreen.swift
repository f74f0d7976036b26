import ProcessPool

/// Lays a ``MonitorState`` out on a ``Canvas``: the whole monitor screen, as a pure function of
/// the state, the UI state, the size and the time.
///
/// ```
/// map_async  workers 2  chunk 2 (auto)  queue 4 █▇▇▇▇▅▅▅▅  RUNNING 00:01.3  ?=help
/// sum     [████████████████████████████████████] 10/10  chunks 5/5  ✓ done in 1.2s
/// product [███████▒▒▒▒▒▒▒▒▒▒▒▒▒▒░░░░░░░░░░░░░░░]  2/10  chunks 1/5  running
/// ┌─ workers ─ 2 live ───────────────────────────────────────────────────────────┐
/// │   PID    state     task                            elapsed  done  chunk      │
/// │ ▶ 6523   busy      product(3,13)                     134ms     6  3–4        │
/// │   6524   busy      product(5,15)                     134ms     6  5–6        │
/// ├─ completion order ─ │ separates chunks · delivered = what the caller has ────┤
/// │ sum     finished   1 2 │ 3 4 │ 5 6 │ 7 8 │ 9 10                              │
/// │         delivered  1–10 all at once at the end (map_async)                   │
/// │ product finished   1 2                                                       │
/// │         delivered  — nothing yet: map_async hands over all 10 at the end     │
/// ├─ task stream ─ s sum · p product · · idle · × crash · 1 column = 100ms ──────┤
/// │ 6523    ssssssssssss                                                         │
/// │ 6524    sssssssspppp                                                         │
/// ├─ worker output ─ newest last ────────────────────────────────────────────────┤
/// │ 6524   Worker 6524 is processing product(2,12)                               │
/// │ 6523   Worker 6523 is processing product(3,13)                               │
/// │ 6524   Worker 6524 is processing product(5,15)                               │
/// ├─ pool events ─ how work is cut and handed out, newest last ──────────────────┤
/// │   1.215  product chunk 2 (items 3–4) → worker 6523                           │
/// │   1.215  product chunk 3 (items 5–6) → worker 6524                           │
/// └──────────────────────────────────────────────────────────────────────────────┘
///  q quit  ? help  space pause  +/- workers  [/] chunk  m mode  r restart  k kill
/// ```
///
/// (`Tests/PoolMonitorTests/Golden/` has this screen at other sizes and moments.) Sections get
/// rows by priority (workers, results, completion order, task stream, then worker output and
/// pool events), so a small terminal loses the panes of spare detail first and a tall one gets
/// more of them. Meaning never rests on colour alone: every coloured state also has a word or a
/// glyph.
public struct MonitorScreen: Sendable {
    /// Below this the screen says so instead of drawing a squashed monitor.
    public static let minimumWidth = 60
    public static let minimumHeight = 18

    public init() {}

    /// Draws the screen.
    /// - Parameters:
    ///   - state: what to show (``MonitorFeed/shown`` while paused).
    ///   - ui: selection and help overlay.
    ///   - width, height: the terminal size in cells.
    ///   - now: the current time in event time (nanoseconds since the pool started); used for
    ///     the run clock and how long each worker has been on its item.
    public func render(_ state: MonitorState, ui: MonitorUIState = MonitorUIState(),
                       width: Int, height: Int, now: UInt64) -> Canvas {
        render(state, history: nil, position: 0, ui: ui, width: width, height: height, now: now).canvas
    }

    /// Draws the screen of a feed: what it shows (live, paused or rewound), with the pool-events
    /// and worker-output panes scrolling back through its whole store, and the inspector when
    /// open; also says where panes and rows went (for the mouse).
    /// - Parameter inspectorLines: the inspector's content when the app already has it (see
    ///   ``inspectorLines(_:for:now:)``: a pass over the item's events, worth caching while live).
    public func render(_ feed: MonitorFeed, ui: MonitorUIState = MonitorUIState(),
                       width: Int, height: Int, now: UInt64, inspectorLines: [[Span]]? = nil) -> (canvas: Canvas, layout: ScreenLayout) {
        render(feed.shown, history: feed.store, position: feed.shownPosition, ui: ui, width: width, height: height, now: now,
               inspectorLines: inspectorLines)
    }

    /// The inspector's content for `inspection` as `feed` shows the run at `now`.
    public static func inspectorLines(_ inspection: Inspection, for feed: MonitorFeed, now: UInt64) -> [[Span]] {
        let state = feed.shown
        return InspectorText.lines(for: inspection, store: feed.store, position: feed.shownPosition, state: state,
                                   now: state.displayTime(now))
    }

    private func render(_ state: MonitorState, history: EventStore?, position: Int, ui: MonitorUIState,
                        width: Int, height: Int, now: UInt64, inspectorLines: [[Span]]? = nil) -> (canvas: Canvas, layout: ScreenLayout) {
        var canvas = Canvas(width: width, height: height)
        guard width >= Self.minimumWidth, height >= Self.minimumHeight else {
            drawTooSmall(&canvas)
            return (canvas, ScreenLayout())
        }
        var painter = ScreenPainter(state: state, ui: ui, now: state.displayTime(now), canvas: canvas)
        painter.history = history
        painter.position = position
        painter.paint()
        canvas = painter.canvas
        if let inspection = ui.inspector, let history {
            let lines = inspectorLines
                ?? InspectorText.lines(for: inspection, store: history, position: position, state: state, now: state.displayTime(now))
            drawOverlay(&canvas, title: " inspector · Esc closes ", lines: lines)
        }
        if let menu = ui.signalMenu { drawSignalMenu(menu, on: &canvas) }
        if ui.showsHelp { drawHelp(&canvas) }
        return (canvas, painter.layout)
    }

    /// `terminal too small: need 60×18, have 40×10`, broken where it must be, and `q quits`.
    private func drawTooSmall(_ canvas: inout Canvas) {
        let need = "need \(Self.minimumWidth)×\(Self.minimumHeight)"
        let have = "have \(canvas.width)×\(canvas.height)"
        let layouts = [
            ["terminal too small: \(need), \(have)"],
            ["terminal too small:", "\(need), \(have)"],
            ["terminal too small", need, have],
        ]
        let message = layouts.first { $0.allSatisfy { $0.count <= canvas.width } } ?? layouts[2]
        let lines = message + ["", "q quits"]
        let top = max(0, (canvas.height - lines.count) / 2)
        for (offset, line) in lines.enumerated() {
            let style = offset == 0 ? CellStyle(color: .yellow, bold: true) : .plain
            canvas.put(line, x: max(0, (canvas.width - line.count) / 2), y: top + offset, style: style)
        }
    }
}

// MARK: - Help

extension MonitorScreen {
    /// Every key, as the help overlay lists it: keys, then what they do. ``KeyMap`` maps the same.
    public static let helpEntries: [(keys: String, action: String)] = [
        ("q  F10", "quit"),
        ("?  h  F1", "this help (Esc closes it)"),
        ("+  -", "one worker more / fewer, at once"),
        ("]  [", "chunk size up / down, next run"),
        ("m", "next mode, next run (map_async → imap → imap_unordered)"),
        ("r", "restart now with the pending settings"),
        ("space", "pause the view (events still counted)"),
        ("k  F9", "signal the selected worker: KILL, TERM, INT, STOP, CONT"),
        ("↑  ↓", "select a worker (an item: completion focused)"),
        ("Enter", "inspect the selected worker / item (Esc closes)"),
        ("F6  <  >", "sort workers: slot, PID, CPU, RSS, done, state, host"),
        ("/", "filter worker output and pool events (Esc clears)"),
        ("←  →", "step one event back / forward (pauses)"),
        ("S-←  S-→", "step one second back / forward"),
        (",  .", "step to the previous / next chunk handed out"),
        ("PgUp PgDn", "scroll the focused pane (also the wheel)"),
        ("Home  End", "oldest line / follow new lines (again: live)"),
        ("Tab", "focus the next pane (Shift-Tab back, or click)"),
        ("f  s", "replay faster / slower"),
        ("n", "next pool of a watched program"),
        ("Ctrl-Z", "stop the monitor and its workers; fg resumes both"),
        ("Ctrl-L", "redraw the screen"),
    ]

    /// What the history costs at most, for the help screen (see ``EventStore``).
    static let historyNote = "history  \(EventStore.defaultByteBudget >> 20) MiB of events per run (≈2.2M), oldest dropped"


    /// What the glyphs mean, under the keys.
    static let legend: [String] = [
        "eff      items' share of worker time; try N: a chunk size wasting less",
        "bars     █ done  ✗ failed  ▒ at a worker  ░ queued",
        "queue    items not sent to a worker yet; the graph is its history",
        "workers  chunk +N: N more chunks sent ahead · to do: items left",
        "order    │ between chunks  · not finished  ✗ failed",
        "stream   a letter per job  · idle  × crash",
        "counts   12.3k = 12,300  4.5M = 4,500,000",
    ]

    private func drawHelp(_ canvas: inout Canvas) {
        let keyWidth = Self.helpEntries.map(\.keys.count).max() ?? 0
        let rows = Self.helpEntries.map { TextFormat.fit($0.keys, keyWidth) + "   " + $0.action }
        let body = rows + [""] + Self.legend + [Self.historyNote]
        let innerWidth = min(canvas.width - 4, (body.map(\.count).max() ?? 0) + 2)
        let boxWidth = innerWidth + 2
        let boxHeight = min(canvas.height, body.count + 2)
        let x = max(0, (canvas.width - boxWidth) / 2)
        let y = max(0, (canvas.height - boxHeight) / 2)
        let frame = CellStyle(color: .cyan, bold: true)
        canvas.fill(x: x, y: y, width: boxWidth, height: boxHeight, with: Cell(" "))
        canvas.put("┌" + String(repeating: "─", count: innerWidth) + "┐", x: x, y: y, style: frame)
        canvas.put(" keys ", x: x + 2, y: y, style: CellStyle(bold: true))
        for row in 1..<(boxHeight - 1) {
            canvas.put("│", x: x, y: y + row, style: frame)
            canvas.put("│", x: x + boxWidth - 1, y: y + row, style: frame)
            let line = body[row - 1]
            let isKey = row - 1 < rows.count
            if isKey {
                canvas.put(String(line.prefix(keyWidth)), x: x + 2, y: y + row, style: CellStyle(bold: true), maxWidth: innerWidth - 1)
                canvas.put(String(line.dropFirst(keyWidth)), x: x + 2 + keyWidth, y: y + row, maxWidth: innerWidth - 1 - keyWidth)
            } else {
                canvas.put(line, x: x + 2, y: y + row, style: CellStyle(dim: true), maxWidth: innerWidth - 1)
            }
        }
        canvas.put("└" + String(repeating: "─", count: innerWidth) + "┘", x: x, y: y + boxHeight - 1, style: frame)
    }
}
