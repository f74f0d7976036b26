import ProcessPool

/// The boxed middle of the screen: workers, completion order, task stream, results, log.
extension ScreenPainter {
    enum Section: CaseIterable {
        case workers, completion, stream, results, log, events
    }

    /// Rows each section asks for (besides its title rule): the least worth showing, and all it
    /// could use.
    private func wanted(_ section: Section, jobs: [JobProgress]) -> (least: Int, most: Int)? {
        let workers = state.workers.count
        switch section {
        case .workers: return (1 + min(max(workers, 1), 2), 1 + max(workers, 1))
        case .completion: return jobs.isEmpty ? nil : (jobs.count, 2 * jobs.count)
        // Two rows at least when there are more workers: one of them says how many are out of view.
        case .stream: return workers == 0 ? nil : (min(workers, 2), workers)
        case .results: return state.summaryLines.isEmpty ? nil : (state.summaryLines.count, state.summaryLines.count)
        case .log: return lineTotal(.log) == 0 ? nil : (2, lineTotal(.log))
        case .events: return lineTotal(.events) == 0 ? nil : (2, lineTotal(.events))
        }
    }

    /// Content rows per section. The core sections (workers, results, completion order, task
    /// stream) first get their least, then what they want, by priority; the log and the pool
    /// events, which only ever fill spare rows, share what is left the same way. With many
    /// workers the grid and the stream are held to about half the box at first, so that the
    /// completion order keeps its delivery lines; rows nobody else wants go back to them.
    private func allot(rows available: Int, jobs: [JobProgress]) -> [Section: Int] {
        var left = available
        var rows: [Section: Int] = [:]
        func grant(_ section: Section, upTo limit: Int) {
            guard let have = rows[section], let want = wanted(section, jobs: jobs) else { return }
            var more = min(left, min(limit, want.most) - have)
            // The delivery lines come all together or not at all (one per job, under its strip).
            if section == .completion && have + more < want.most { more = 0 }
            guard more > 0 else { return }
            rows[section] = have + more
            left -= more
        }
        let half = max(3, available / 2)
        // The focused line pane goes first among the spare-row panes: what is being scrolled stays.
        let spare: [Section] = ui.focus == .log ? [.log, .events] : [.events, .log]
        let tiers = [[Section.workers, .results, .completion, .stream], spare]
        // On a tall box, every section's least first, the spare panes' too: many workers must
        // not push worker output and pool events off the screen while their grid and stream
        // can scroll. A small one (80×24) keeps the tutorial's sections first.
        let reserveSpare = available >= Self.spareReserveRows
        for (number, tier) in tiers.enumerated() {
            if number == 0 || !reserveSpare {
                for section in tier {
                    guard let want = wanted(section, jobs: jobs), 1 + want.least <= left else { continue }
                    rows[section] = want.least
                    left -= 1 + want.least
                }
            }
            if number == 0 && reserveSpare {
                for section in tiers[1] {
                    guard let want = wanted(section, jobs: jobs), 1 + want.least <= left else { continue }
                    rows[section] = want.least
                    left -= 1 + want.least
                }
            }
            for section in tier {
                grant(section, upTo: section == .workers || section == .stream ? half : .max)
            }
        }
        grant(.workers, upTo: .max)
        grant(.stream, upTo: .max)
        return rows
    }

    /// Box rows from which worker output and pool events always keep a few rows.
    static let spareReserveRows = 24

    /// Draws the box from row `top` to its bottom rule on row `bottom`.
    mutating func drawBox(top: Int, bottom: Int, jobs: [JobProgress]) {
        guard bottom - top >= 2 else { return }
        shownJobCount = jobs.count
        let rows = allot(rows: bottom - top, jobs: jobs)
        var y = top
        var first = true
        for section in Section.allCases {
            guard let count = rows[section] else { continue }
            drawRule(y: y, left: first ? "┌" : "├", right: first ? "┐" : "┤", title: focused(section, title(of: section, rows: count)))
            if let pane = section.pane {
                layout.regions.append(ScreenLayout.Region(pane: pane, titleRow: y, rows: (y + 1)..<(y + 1 + count),
                                                          total: lineTotal(pane)))
            }
            first = false
            y += 1
            for row in y..<(y + count) { drawSides(y: row) }
            switch section {
            case .workers: drawWorkers(top: y, rows: count)
            case .completion: drawCompletion(top: y, rows: count, jobs: jobs)
            case .stream: drawStream(top: y, rows: count)
            case .results: drawResults(top: y, rows: count)
            case .log: drawLog(top: y, rows: count)
            case .events: drawEvents(top: y, rows: count)
            }
            y += count
        }
        if first { drawRule(y: y, left: "┌", right: "┐", title: []); y += 1 }
        while y < bottom {
            drawSides(y: y)
            y += 1
        }
        drawRule(y: bottom, left: "└", right: "┘", title: [])
    }

    private var innerX: Int { 2 }
    private var innerWidth: Int { width - 4 }

    private mutating func drawRule(y: Int, left: String, right: String, title: [Span]) {
        canvas.put(left + String(repeating: "─", count: max(0, width - 2)) + right, x: 0, y: y, style: Self.border)
        guard !title.isEmpty else { return }
        canvas.put(title, x: 2, y: y, maxWidth: width - 5)
    }

    private mutating func drawSides(y: Int) {
        canvas.put("│", x: 0, y: y, style: Self.border)
        canvas.put("│", x: width - 1, y: y, style: Self.border)
    }

    private func title(of section: Section, rows: Int) -> [Span] {
        switch section {
        case .workers:
            var info = ["\(state.liveWorkerCount) live"]
            if state.resources.hasSamples && state.liveWorkerCount > 0 {
                let totals = state.resources.totals
                info.append("cpu \(Int(totals.cpuPercent.rounded()))% · rss \(TextFormat.bytes(totals.residentBytes))")
            }
            if ui.sort != .slot { info.append("by \(ui.sort.label)") }
            if state.retries > 0 { info.append("↻ \(state.retries) item\(state.retries == 1 ? "" : "s") re-run") }
            let exits = state.exitsByReason.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\($0.value) \(Self.words(for: $0.key))" }
            if !exits.isEmpty { info.append("exits: " + exits.joined(separator: ", ")) }
            if state.faults > 0 { info.append("⚠ \(state.faults) fault\(state.faults == 1 ? "" : "s")") }
            return titled(" workers ", info.joined(separator: " · "))
        case .completion:
            if ui.focus == .completion {
                var picked = ui.selectedItem.map { "▸ \(state.describe($0)) · ↑↓ pick · Enter inspects" } ?? "↑↓ pick an item · Enter inspects"
                if let more = jobScrollInfo(shown: shownJobCount) { picked = more + " · " + picked }
                return titled(" completion order ", picked)
            }
            if let more = jobScrollInfo(shown: shownJobCount) {
                return titled(" completion order ", more + " · │ separates chunks")
            }
            return titled(" completion order ", "│ separates chunks · delivered = what the caller has")
        case .stream:
            var legend = state.jobs.suffix(6).map { "\($0.letter) \($0.label)" }
            legend += ["· idle", "× crash"]
            if let interval = state.tickInterval { legend.append("1 column = \(TextFormat.duration(interval))") }
            return titled(" task stream ", legend.joined(separator: " · "))
        case .results: return titled(" results ", "")
        case .log:
            return titled(" worker output ", scrollInfo(.log, rows: rows)
                ?? (ui.filter.isActive ? "only lines with “\(ui.filter.text)” (/ edits, Esc in it clears)" : "newest last"))
        case .events:
            return titled(" pool events ", scrollInfo(.events, rows: rows)
                ?? (ui.filter.isActive ? "only lines with “\(ui.filter.text)”" : "how work is cut and handed out, newest last"))
        }
    }

    func titled(_ name: String, _ info: String) -> [Span] {
        var spans = [Span(name, Self.bold)]
        // Leave the rule visible at the right end; cut the description rather than the name.
        // The title starts at column 2: name, "─ ", info, " ", then at least "──┐".
        let room = width - 8 - name.count
        if !info.isEmpty, room > 8 {
            spans += [Span("─ ", Self.border), Span(TextFormat.clip(info, room) + " ", Self.dim)]
        }
        return spans
    }

    static func words(for reason: WorkerExitReason) -> String {
        switch reason {
        case .crashed: "crashed"
        case .retired: "retired"
        case .maxTasksReached: "max tasks"
        case .poolClosed: "pool closed"
        case .terminated: "terminated"
        case .protocolViolation: "protocol violation"
        case .initializerFailed: "initializer failed"
        case .timedOut: "timed out"
        }
    }

    // MARK: workers

    /// The first shown row of `rows` rows of workers, keeping the selected one in view.
    private func windowStart(showing rows: Int) -> Int {
        let workers = orderedWorkers
        guard workers.count > rows, let slot = ui.selectedSlot,
              let position = workers.firstIndex(where: { $0.slot == slot }) else { return 0 }
        return min(max(0, position - rows + 1), workers.count - rows)
    }

    /// The workers in the grid's order (the stream follows it).
    var orderedWorkers: [WorkerSlot] { ui.orderedWorkers(in: state) }

    private mutating func drawWorkers(top: Int, rows: Int) {
        let workers = orderedWorkers
        let wide = innerWidth >= 100
        // Remote workers show as host:pid: the column grows to the longest (within reason).
        let labelWidth = workers.lazy.filter { $0.host != nil }.map { $0.label.count + 1 }.max().map { min(24, max(9, $0)) } ?? 7
        let columns = WorkerColumns(innerWidth: innerWidth, wide: wide, pid: labelWidth,
                                    resources: state.resources.hasSamples, sort: ui.sort)
        canvas.put(columns.header, x: innerX, y: top, style: CellStyle(bold: true, dim: true))
        guard !workers.isEmpty else {
            canvas.put("no workers yet", x: innerX + 2, y: top + 1, style: Self.dim)
            return
        }
        var shown = rows - 1
        let hidden = workers.count > shown
        if hidden { shown -= 1 }
        let start = windowStart(showing: max(1, shown))
        for (offset, worker) in workers.dropFirst(start).prefix(max(0, shown)).enumerated() {
            layout.workerRows[top + 1 + offset] = worker.slot
            let y = top + 1 + offset
            canvas.put(workerRow(worker, columns), x: innerX, y: y, maxWidth: innerWidth)
            if worker.slot == ui.selectedSlot {
                // One plain bar: reverse video over the row's own colours made a patchwork.
                canvas.restyle(x: innerX - 1, y: y, width: innerWidth + 2) { style in
                    style = CellStyle(bold: style.bold, reverse: true)
                }
            }
        }
        if hidden {
            let below = workers.count - start - shown
            let counts = [start > 0 ? "↑ \(start) more" : nil, below > 0 ? "↓ \(below) more" : nil].compactMap { $0 }
            canvas.put("  \(counts.joined(separator: " · ")) (↑/↓ PgUp/PgDn scroll)", x: innerX, y: top + rows - 1, style: Self.dim)
        }
    }

    private func workerRow(_ worker: WorkerSlot, _ columns: WorkerColumns) -> [Span] {
        let selected = worker.slot == ui.selectedSlot
        var spans = [Span(selected ? "▶ " : "  ", Self.bold)]
        if columns.wide { spans.append(Span(TextFormat.fit("\(worker.slot)", 5), Self.dim)) }
        spans.append(Span(TextFormat.fit(worker.label, columns.pid)))
        let activity = worker.activity
        let usage = worker.isAlive ? state.resources.usage(of: worker.pid) : nil
        let stopped = usage?.stopped == true
        var stateStyle: CellStyle = switch activity {
        case .busy: CellStyle(color: .green, bold: true)
        case .idle: Self.dim
        case .starting, .retiring: CellStyle(color: .yellow)
        case .exited(_, .crashed), .exited(_, .protocolViolation), .exited(_, .initializerFailed): CellStyle(color: .red, bold: true)
        case .exited: Self.dim
        }
        // A worker stopped by a signal (STOP from the menu, Ctrl-Z) says so: its task waits.
        if stopped { stateStyle = CellStyle(color: .yellow, bold: true) }
        spans.append(Span(TextFormat.fit(stopped ? "stopped" : activity.word, 10), stateStyle))

        var task = "", taskStyle = CellStyle.plain, elapsed = ""
        if let exit = worker.exit {
            task = "\(exit.termination) · \(Self.words(for: exit.reason))"
            taskStyle = stateStyle
        } else if let current = worker.currentItem {
            task = state.describe(current.item)
            taskStyle = style(ofJob: current.item.job)
            elapsed = TextFormat.duration(now >= current.since ? now - current.since : 0)
        } else if case .starting = activity {
            task = "starting…"
            taskStyle = Self.dim
        } else {
            task = "—"
            taskStyle = Self.dim
        }
        spans.append(Span(TextFormat.fit(task, columns.task), taskStyle))
        if columns.resources {
            spans.append(Span(TextFormat.right(usage.map { "\(Int($0.cpuPercent.rounded()))%" } ?? "", columns.cpu)))
            if columns.wide {
                let trend = usage.map { TextFormat.sparkline($0.cpuTrend.map { Int($0.rounded()) }, top: 100) } ?? ""
                spans.append(Span(" " + TextFormat.fit(trend, columns.trend - 1), CellStyle(color: .green)))
            }
            spans.append(Span(TextFormat.right(usage.map { TextFormat.bytes($0.residentBytes) } ?? "", columns.rss)))
        }
        spans.append(Span(TextFormat.right(elapsed, columns.elapsed)))
        spans.append(Span(TextFormat.right(TextFormat.count(worker.itemsDone), columns.done)))
        var chunk = ""
        if let head = worker.assignments.first {
            // The running chunk: a run of chunks sent at once shows the one its next item is in.
            var running = head.start..<(head.start + head.count)
            if head.chunks > 1, let job = state.jobs.first(where: { $0.id == head.job }),
               let number = job.plan.chunk(containing: head.nextItem), let items = job.plan.items(ofChunk: number) {
                running = items
            }
            chunk = TextFormat.items(running, width: columns.chunk)
            // `+3`: three more chunks already sent to this worker (it works ahead); shown when
            // it fits, and the help says what it means.
            let waiting = worker.chunksInFlight - 1
            let more = " +" + TextFormat.count(waiting)
            if waiting > 0 && chunk.count + more.count <= columns.chunk { chunk += more }
        }
        spans.append(Span("  " + TextFormat.fit(chunk, columns.chunk), Self.dim))
        if columns.wide {
            let toDo = worker.itemsInFlight
            spans.append(Span(TextFormat.right(toDo > 0 ? TextFormat.count(toDo) : "", columns.toDo), Self.dim))
        }
        return spans
    }

    // MARK: completion order and delivery

    private mutating func drawCompletion(top: Int, rows: Int, jobs: [JobProgress]) {
        let both = rows >= 2 * jobs.count
        let stripX = innerX + labelWidth + 1 + 11
        let stripWidth = innerX + innerWidth - stripX
        var y = top
        for job in jobs {
            canvas.put(TextFormat.fit(job.label, labelWidth), x: innerX, y: y, style: style(ofJob: job.id, bold: true))
            canvas.put("finished", x: innerX + labelWidth + 1, y: y, style: Self.dim)
            var strip = CompletionStrip.spans(for: job, width: stripWidth, style: style(ofJob: job.id))
            if strip.isEmpty { strip = [Span("nothing yet", Self.dim)] }
            canvas.put(strip, x: stripX, y: y, maxWidth: stripWidth)
            y += 1
            guard both else { continue }
            canvas.put("delivered", x: innerX + labelWidth + 1, y: y, style: Self.dim)
            canvas.put(deliverySpans(job, width: stripWidth), x: stripX, y: y, maxWidth: stripWidth)
            y += 1
        }
    }

    /// How much of the job its caller has, and how this mode hands results over.
    private func deliverySpans(_ job: JobProgress, width: Int) -> [Span] {
        let mode = job.descriptor.mode
        let total = job.itemCount
        let jobStyle = style(ofJob: job.id)
        switch mode {
        case .map, .starmap, .apply:
            if job.itemsDelivered == 0 {
                if job.isComplete, job.completionError != nil {
                    return [Span("nothing: the job failed, so \(mode.rawValue) raises its first error", CellStyle(color: .red))]
                }
                return [Span("— nothing yet: \(mode.rawValue) hands over all \(total) at the end", Self.dim)]
            }
            return [Span(TextFormat.items(0..<job.itemsDelivered), jobStyle),
                    Span(" all at once at the end (\(mode.rawValue))", Self.dim)]
        case .imap:
            let note = " in input order (imap)"
            var spans = [Span(TextFormat.items(0..<job.deliveredPrefix), jobStyle), Span(note, Self.dim)]
            if job.itemsDelivered == 0 {
                // Holding shows from the very first result kept back, before anything is delivered.
                spans = [Span("— nothing yet", Self.dim)]
                if job.itemsDone == 0 { spans.append(Span(": imap hands results over in input order", Self.dim)) }
            }
            let held = job.itemsDone - job.itemsDelivered
            if held > 0, let next = firstUnfinished(job, from: job.deliveredPrefix) {
                // Name the first few finished items that wait behind the unfinished one.
                let shown = (next..<min(job.itemCount, next + 64)).filter(job.isFinished).prefix(3).map { "\($0 + 1)" }
                let list = shown.joined(separator: " ") + (held > shown.count ? " +\(held - shown.count)" : "")
                spans.append(Span(" · holding \(list) until \(next + 1) is done", CellStyle(color: .yellow)))
            } else if job.itemsHeldBack > 0 {
                // Holding lasts moments: say that it happened, and how often.
                spans.append(Span(" · \(TextFormat.count(job.itemsHeldBack)) held back so far", CellStyle(color: .yellow)))
            }
            return spans
        case .imapUnordered:
            if job.itemsDelivered == 0 {
                return [Span("— nothing yet: imap_unordered hands over each chunk as it finishes", Self.dim)]
            }
            let note = " (as chunks finish)"
            var spans = CompletionStrip.deliverySpans(for: job, width: width - note.count, style: jobStyle)
            spans.append(Span(note, Self.dim))
            return spans
        }
    }

    /// The first unfinished item at or after `start` (looking a bounded way ahead).
    private func firstUnfinished(_ job: JobProgress, from start: Int) -> Int? {
        (start..<min(job.itemCount, start + 10_000)).first { !job.isFinished($0) }
    }

    // MARK: task stream

    private mutating func drawStream(top: Int, rows: Int) {
        let workers = orderedWorkers
        // More workers than rows: the last row says how many are out of view, as in the grid.
        let hidden = workers.count > rows
        let streamRows = hidden ? max(1, rows - 1) : rows
        let start = windowStart(showing: streamRows)
        let shown = Array(workers.dropFirst(start).prefix(streamRows))
        if hidden && rows >= 2 {
            let below = workers.count - start - shown.count
            let counts = [start > 0 ? "\(start) above" : nil, below > 0 ? "\(below) below" : nil].compactMap { $0 }
            canvas.put("  … \(counts.joined(separator: ", ")) (↑/↓ scrolls)", x: innerX, y: top + rows - 1, style: Self.dim)
        }
        let marksWidth = innerWidth - 8
        let longest = shown.map(\.stream.count).max() ?? 0
        for (offset, worker) in shown.enumerated() {
            let y = top + offset
            layout.workerRows[y] = worker.slot
            let selected = worker.slot == ui.selectedSlot
            canvas.put(TextFormat.fit("\(worker.pid)", 7), x: innerX, y: y, style: selected ? Self.bold : Self.dim)
            // Rows line up in time: a slot that started later is padded on the left.
            let marks = worker.stream.suffix(marksWidth)
            let padding = min(marksWidth, longest) - marks.count
            var x = innerX + 8 + max(0, padding)
            for mark in marks {
                let (glyph, style) = streamGlyph(mark)
                canvas.put(String(glyph), x: x, y: y, style: style)
                x += 1
            }
        }
    }

    private func streamGlyph(_ mark: StreamMark) -> (Character, CellStyle) {
        switch mark {
        case .job(let id): (state.job(id: id)?.letter ?? "?", style(ofJob: id))
        case .idle: ("·", Self.dim)
        case .crashed: ("×", CellStyle(color: .red, bold: true))
        case .absent: (" ", .plain)
        }
    }

    // MARK: results and log

    private mutating func drawResults(top: Int, rows: Int) {
        for (offset, line) in state.summaryLines.prefix(rows).enumerated() {
            canvas.put(line, x: innerX, y: top + offset, style: Self.bold, maxWidth: innerWidth)
        }
    }

    /// The log lines that pass the `/` filter, the newest `rows` of them (looking back at most
    /// the log's capacity: the filter never costs more than that).
    private var filteredLog: [MonitorState.LogLine] {
        ui.filter.isActive ? state.log.elements.filter { ui.filter.matches($0.text) || ui.filter.matches("\($0.pid)") } : state.log.elements
    }

    private mutating func drawLog(top: Int, rows: Int) {
        // A `/` filter shows the newest matching lines; without one, the pane scrolls back
        // through the whole run (PgUp, the wheel).
        let lines: [MonitorState.LogLine]
        if ui.filter.isActive {
            lines = Array(filteredLog.suffix(rows))
            if lines.isEmpty {
                canvas.put("nothing matches “\(ui.filter.text)”", x: innerX, y: top, style: Self.dim, maxWidth: innerWidth)
            }
        } else {
            lines = logLines(rows: rows)
        }
        for (offset, line) in lines.enumerated() {
            var spans = [Span(TextFormat.fit("\(line.pid)", 7), Self.dim)]
            if line.isFault {
                spans.append(Span("⚠ " + line.text, CellStyle(color: .red)))
            } else {
                spans.append(Span(line.text))
            }
            canvas.put(spans, x: innerX, y: top + offset, maxWidth: innerWidth)
        }
    }

    private mutating func drawEvents(top: Int, rows: Int) {
        func spans(of event: PoolEvent) -> [Span] {
            [Span(TextFormat.right(TextFormat.seconds(event.time), 7) + "  ", Self.dim)] + eventSpans(event.kind)
        }
        var lines: [[Span]] = []
        if ui.filter.isActive {
            // Newest first, so that a filter stops as soon as the pane is full.
            for event in state.recentEvents.elements.reversed() where lines.count < rows {
                let line = spans(of: event)
                if ui.filter.matches(line.map(\.text).joined()) { lines.append(line) }
            }
            lines.reverse()
            if lines.isEmpty {
                canvas.put("nothing matches “\(ui.filter.text)”", x: innerX, y: top, style: Self.dim, maxWidth: innerWidth)
            }
        } else {
            lines = eventLines(rows: rows).map(spans(of:))
        }
        for (offset, line) in lines.enumerated() {
            canvas.put(line, x: innerX, y: top + offset, maxWidth: innerWidth)
        }
    }

    /// One scheduling event in words; chunk numbers are 1-based like the `chunks 3/5` counts.
    func eventSpans(_ kind: PoolEvent.Kind) -> [Span] {
        func job(_ id: Int) -> Span {
            let label = state.job(id: id)?.label ?? "job \(id)"
            return Span(TextFormat.fit(label, labelWidth) + " ", style(ofJob: id, bold: true))
        }
        let pool = Span(TextFormat.fit("pool", labelWidth) + " ", Self.bold)
        func items(_ start: Int, _ count: Int) -> String { "item\(count == 1 ? "" : "s") \(TextFormat.items(start..<start + count))" }
        switch kind {
        case .workerStarted(let slot, let pid, let host):
            return [pool, Span("worker \(host.map { "\($0):" } ?? "")\(pid) started in slot \(slot)")]
        case .workerExited(_, let pid, let termination, let reason, _):
            let style = reason == .crashed ? CellStyle(color: .red, bold: true) : CellStyle.plain
            return [pool, Span("worker \(pid) exited: \(termination) (\(Self.words(for: reason)))", style)]
        case .jobSubmitted(let descriptor):
            let chunk = "chunksize \(descriptor.chunksize)\(descriptor.chunksizeIsAutomatic ? " (auto)" : "")"
            return [job(descriptor.id), Span("submitted: \(descriptor.mode.rawValue) of \(descriptor.itemCount) items, \(chunk)")]
        case .chunksQueued(let id, let first, let chunks, let start, let count, _):
            let which = chunks == 1 ? "chunk \(first + 1)" : "chunks \(first + 1)–\(first + chunks)"
            return [job(id), Span("\(which) queued (\(items(start, count)))")]
        case .chunksRecut(let id, let chunksize, let first, let chunks, let start, let count, _):
            let which = chunks == 1 ? "chunk \(first + 1)" : "chunks \(first + 1)–\(first + chunks)"
            return [job(id), Span("rest re-cut: \(items(start, count)) now in \(which) of \(chunksize)", CellStyle(color: .yellow))]
        case .chunkRequeued(let id, let chunk, let start, let count, _):
            return [job(id), Span("chunk \(chunk + 1) back in the queue (\(items(start, count)) unfinished)", CellStyle(color: .yellow))]
        case .chunkDispatched(let id, let chunk, let start, let count, let pid, _):
            return [job(id), Span("chunk \(chunk + 1) (\(items(start, count))) → worker \(pid)")]
        case .chunksDispatched(let id, let first, let chunks, let start, let count, let pid, _):
            return [job(id), Span("chunks \(first + 1)–\(first + chunks) (\(items(start, count))) → worker \(pid)")]
        case .itemRetried(let id, let index, let attempt, let dead):
            return [job(id), Span("item \(index + 1) will run again (worker \(dead) died; attempt \(attempt + 1))", CellStyle(color: .yellow))]
        case .resultsDelivered(let id, let start, let count):
            return [job(id), Span("delivered \(items(start, count)) to the caller")]
        case .jobCompleted(let id, let error):
            if let error { return [job(id), Span("failed: \(error)", CellStyle(color: .red, bold: true))] }
            return [job(id), Span("complete", CellStyle(color: .green))]
        case .jobCancelled(let id):
            return [job(id), Span("cancelled by the caller (queued chunks dropped)", CellStyle(color: .yellow))]
        case .poolResized(let from, let to):
            return [pool, Span("workers \(from) → \(to)")]
        case .poolStateChanged(let runState):
            return [pool, Span(runState.rawValue)]
        case .eventsDropped(let count):
            return [pool, Span("⚠ \(count) events dropped", CellStyle(color: .red, bold: true))]
        case .workerReady(_, let pid):
            return [pool, Span("worker \(pid) ready")]
        case .poolCreated(let id, let pid, let workers):
            return [pool, Span("pool \(id) of process \(pid) created with \(workers) worker\(workers == 1 ? "" : "s")")]
        case .jobProgress(let id, let finished, let failed, _, _):
            return [job(id), Span("joined late: \(finished) item\(finished == 1 ? "" : "s") finished before\(failed > 0 ? " (\(failed) failed)" : "")")]
        case .settingsChanged(let chunksize):
            return [pool, Span("chunk size for the next jobs: \(chunksize.map(String.init) ?? "each job's own")")]
        case .itemStarted, .itemFinished, .itemsFinished, .workerOutput, .workerFault:
            return []
        }
    }

    // MARK: key bar

    mutating func drawKeyBar(y: Int) {
        if ui.filter.isEditing {
            // The filter prompt, as htop's: what is typed narrows the panes at once.
            let spans = [Span(" filter: ", CellStyle(bold: true)), Span(ui.filter.text + "▏", CellStyle(color: .yellow, bold: true)),
                         Span("   Enter keeps · Esc clears · worker output and pool events", Self.dim)]
            canvas.put(spans, x: 0, y: y, maxWidth: width)
            return
        }
        let pause = state.freeze == nil ? "pause" : "resume"
        let keys: [(key: String, label: String, priority: Int)]
        // The F-keys of htop (F1 help, F6 sort, F9 kill, F10 quit), then the monitor's own.
        if ui.replaySpeed != nil {
            // A recorded run: no key that acts on a live engine (pressing one says why).
            keys = [("q", "quit", 0), ("?", "help", 1), ("space", pause, 2), ("←→", "step", 3), ("f/s", "speed", 4),
                    ("PgUp", "scroll", 5), ("Tab", "focus", 6), ("Enter", "inspect", 7), ("r", "from the start", 8)]
        } else if let watched = state.watched {
            // A watched program decides its own runs and modes: no `r`, no `m`.
            let quit = watched.attached ? "detach" : (watched.exitStatus == nil ? "quit (stops it)" : "quit")
            keys = [("F1", "help", 1), ("F6", "sort", 3), ("F9", "kill", 2), ("F10", quit, 0), ("space", pause, 6),
                    ("+/-", "workers", 4), ("[/]", "chunk of next jobs", 5), ("n", "next pool", 7), ("/", "filter", 8)]
        } else {
            keys = [("F1", "help", 1), ("F6", "sort", 2), ("F9", "kill", 3), ("F10", "quit", 0),
                    ("+/-", "workers", 4), ("[/]", "chunk", 5), ("m", "mode", 6), ("r", "restart", 7),
                    ("space", pause, 8), ("/", "filter", 9)]
        }
        // Keep the most important keys that fit, in their usual order.
        var kept = Set<Int>()
        var used = 1
        for (index, entry) in keys.enumerated().sorted(by: { $0.element.priority < $1.element.priority }) {
            let cost = entry.key.count + 1 + entry.label.count + 2
            if used + cost - 2 <= width { kept.insert(index); used += cost }
        }
        var spans = [Span(" ")]
        for (index, entry) in keys.enumerated() where kept.contains(index) {
            if spans.count > 1 { spans.append(Span("  ")) }
            spans += [Span(entry.key, CellStyle(bold: true, reverse: true)), Span(" " + entry.label)]
        }
        canvas.put(spans, x: 0, y: y, maxWidth: width)
    }
}

/// Column widths of the worker grid for one screen width.
struct WorkerColumns {
    let wide: Bool
    /// CPU% and RSS columns (once the app has measured the workers).
    let resources: Bool
    let sort: WorkerSort
    let task: Int
    let cpu = 6
    /// The CPU trend (wide screens): a few samples as block heights.
    let trend = 7
    let rss = 7
    let elapsed = 8
    let done = 6
    /// Wide enough for an abbreviated range with its start and end (`12.5k–25.0k`).
    let chunk = 12
    /// Items sent to the worker and not finished (its chunk's rest, and any prefetched chunks).
    let toDo = 7

    /// The PID column: 7, or wider for `host:pid` labels.
    let pid: Int

    init(innerWidth: Int, wide: Bool, pid: Int = 7, resources: Bool = false, sort: WorkerSort = .slot) {
        self.wide = wide
        self.pid = pid
        self.resources = resources
        self.sort = sort
        let fixed = 2 + (wide ? 5 : 0) + pid + 10 + 8 + 6 + 2 + 12 + (wide ? 7 : 0)
            + (resources ? cpu + rss + (wide ? trend : 0) : 0)
        // Tasks read like `product(10,20)`: past 36 columns a wider column is only a gap.
        task = min(36, max(8, innerWidth - fixed))
    }

    /// The column names; the one the grid is sorted by is marked `▼` (htop marks it too).
    var header: String {
        func name(_ text: String, _ key: WorkerSort) -> String { sort == key && key != .slot ? text + "▼" : text }
        var line = "  " + (wide ? name("slot", .slot) + " " : "") + TextFormat.fit(sort == .host ? "host▼:PID" : name(pid > 7 ? "host:PID" : "PID", .pid), pid)
            + TextFormat.fit(name("state", .state), 10) + TextFormat.fit("task", task)
        if resources {
            line += TextFormat.right(name("CPU%", .cpu), cpu) + (wide ? " " + TextFormat.fit("trend", trend - 1) : "")
                + TextFormat.right(name("RSS", .rss), rss)
        }
        return line + TextFormat.right("elapsed", elapsed) + TextFormat.right(name("done", .done), done)
            + "  " + TextFormat.fit("chunk", chunk) + (wide ? TextFormat.right("to do", toDo) : "")
    }
}
