import ProcessPool

/// The painter's side of scrollback and focus: line panes read from the run's ``EventStore``
/// when there is one, scrolled back by ``MonitorUIState/scrollBack``, with `↑ N more` / `↓ N more`
/// in their titles; the focused pane's title is highlighted.
extension ScreenPainter {
    /// Lines a line pane has in all, up to the position shown.
    func lineTotal(_ pane: Pane) -> Int {
        switch pane {
        case .events: history.map { $0.schedulingCount(before: position) } ?? state.recentEvents.count
        case .log: history.map { $0.outputCount(before: position) } ?? state.log.count
        case .completion: state.jobs.count
        case .workers, .stream: 0
        }
    }

    /// `↑ 3 more jobs · ↓ 1 more`, when the completion order does not show every job kept.
    func jobScrollInfo(shown: Int) -> String? {
        let below = min(ui.back(.completion), max(0, state.jobs.count - 1))
        let above = max(0, state.jobs.count - below - shown)
        guard above > 0 || below > 0 else { return nil }
        var parts: [String] = []
        if above > 0 { parts.append("↑ \(above) more job\(above == 1 ? "" : "s")") }
        if below > 0 { parts.append("↓ \(below) more · End follows") }
        return parts.joined(separator: " · ")
    }

    /// The first line shown of `rows` rows of `pane`, and how many are hidden below.
    private func window(_ pane: Pane, rows: Int) -> (first: Int, below: Int) {
        let total = lineTotal(pane)
        let below = min(ui.back(pane), max(0, total - rows))
        return (max(0, total - rows - below), below)
    }

    /// `↑ 40 more · ↓ 3 more · End follows`, or nil when the pane shows its newest lines and no
    /// older ones are hidden... and it does not have the focus.
    func scrollInfo(_ pane: Pane, rows: Int) -> String? {
        let (first, below) = window(pane, rows: rows)
        guard first > 0 || below > 0 else { return nil }
        var parts: [String] = []
        if first > 0 { parts.append("↑ \(TextFormat.count(first)) more") }
        if below > 0 { parts.append("↓ \(TextFormat.count(below)) more · End follows") }
        else if ui.focus == pane { parts.append("PgUp scrolls") }
        return parts.joined(separator: " · ")
    }

    /// The title, marked when its pane has the focus.
    func focused(_ section: Section, _ title: [Span]) -> [Span] {
        guard let pane = section.pane, pane == ui.focus, let name = title.first else { return title }
        return [Span("▸" + name.text, CellStyle(color: .yellow, bold: true, reverse: true))] + title.dropFirst()
    }

    /// The worker-output lines to draw in `rows` rows.
    func logLines(rows: Int) -> [MonitorState.LogLine] {
        let (first, _) = window(.log, rows: rows)
        let count = min(rows, lineTotal(.log) - first)
        guard let history else { return (first..<(first + count)).map { state.log[$0] } }
        return (first..<(first + count)).compactMap { n in
            guard let (_, event) = history.outputEvent(n) else { return nil }
            switch event.kind {
            case .workerOutput(let pid, let line): return MonitorState.LogLine(time: event.time, pid: pid, text: line, isFault: false)
            case .workerFault(let pid, let message): return MonitorState.LogLine(time: event.time, pid: pid, text: message, isFault: true)
            default: return nil
            }
        }
    }

    /// The pool events to draw in `rows` rows.
    func eventLines(rows: Int) -> [PoolEvent] {
        let (first, _) = window(.events, rows: rows)
        let count = min(rows, lineTotal(.events) - first)
        guard let history else { return (first..<(first + count)).map { state.recentEvents[$0] } }
        return (first..<(first + count)).compactMap { history.schedulingEvent($0)?.event }
    }

    /// `✝ worker 6523 (slot 0) died: SIGKILL · on sum(3,13) · items 3–4 back in the queue ·
    /// Enter: report`, when the selected worker row is a dead process or its slot lost one.
    func selectedDeath() -> [Span]? {
        guard let history, let slot = ui.selectedSlot,
              let death = DeathReport.latest(inSlot: slot, store: history, before: position, state: state) else { return nil }
        var spans = [Span("✝ \(death.pid) ", CellStyle(color: .red, bold: true)),
                     Span(death.cause, CellStyle(color: .red, bold: true))]
        if let item = death.item { spans.append(Span(" · was on \(state.describe(item))")) }
        if let requeued = death.requeued.first {
            let items = TextFormat.items(requeued.start..<requeued.start + requeued.count)
            spans.append(Span(" · chunk \(requeued.chunk + 1) (item\(requeued.count == 1 ? "" : "s") \(items)) requeued",
                              CellStyle(color: .yellow)))
        }
        if spans.width + 8 <= width { spans.append(Span(" · Enter", Self.dim)) }
        return spans
    }
}

extension ScreenPainter.Section {
    /// The focusable pane this section is (results has none).
    var pane: Pane? {
        switch self {
        case .workers: .workers
        case .completion: .completion
        case .stream: .stream
        case .log: .log
        case .events: .events
        case .results: nil
        }
    }
}
