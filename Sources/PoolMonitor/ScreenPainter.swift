import ProcessPool

/// Paints one frame of the monitor (everything but the too-small screen and the help overlay).
///
/// A value made per frame: it reads the state, allots rows to sections, and writes the canvas
/// top to bottom. Kept apart from ``MonitorScreen`` so that the public type stays a small API.
struct ScreenPainter {
    let state: MonitorState
    let ui: MonitorUIState
    /// Display time (already frozen while paused).
    let now: UInt64
    var canvas: Canvas
    /// The run's recorded events, when the app keeps them: the pool-events and worker-output
    /// panes then scroll back through the whole run (else through the state's recent lines).
    var history: EventStore?
    /// The position in `history` the state stands for (events folded).
    var position = 0
    /// Where panes and rows went, for the mouse and the page size.
    var layout = ScreenLayout()
    /// Jobs with bars and completion strips on this frame.
    var shownJobCount = 0

    init(state: MonitorState, ui: MonitorUIState, now: UInt64, canvas: Canvas) {
        self.state = state
        self.ui = ui
        self.now = now
        self.canvas = canvas
        // The jobs on screen are among the latest few: never a pass over every job per frame.
        labelWidth = min(12, max(7, state.jobs.suffix(16).map(\.label.count).max() ?? 0))
    }

    var width: Int { canvas.width }
    var height: Int { canvas.height }
    /// Job labels are padded to this so that bars and strips line up.
    let labelWidth: Int

    // MARK: styles

    static let jobColors: [CellColor] = [.cyan, .magenta, .yellow, .green, .blue, .red]
    static let border = CellStyle(color: .blue)
    static let dim = CellStyle(dim: true)
    static let bold = CellStyle(bold: true)
    /// The `░` of queued work: dim made it all but invisible on a dark background; the
    /// terminal's own foreground reads on dark and light ones alike.
    static let queuedShade = CellStyle.plain

    func color(ofJob id: Int) -> CellColor {
        guard let position = state.position(ofJob: id) else { return .default }
        return Self.jobColors[position % Self.jobColors.count]
    }

    func style(ofJob id: Int, bold: Bool = false) -> CellStyle { CellStyle(color: color(ofJob: id), bold: bold) }

    // MARK: frame

    mutating func paint() {
        var y = 0
        drawHeader(y: y)
        y += 1
        for notice in notices() {
            canvas.put(notice, x: 0, y: y, maxWidth: width)
            y += 1
        }
        let jobs = shownJobs(maxRows: max(1, (height - y) / 5))
        for row in jobRows(jobs) {
            canvas.put(row, x: 0, y: y, maxWidth: width)
            y += 1
        }
        drawBox(top: y, bottom: height - 2, jobs: jobs)
        drawKeyBar(y: height - 1)
    }

    // MARK: header

    private mutating func drawHeader(y: Int) {
        var left: [Span] = []
        if width >= 100 { left += [Span("poolmon", Self.bold), Span("  ")] }
        left.append(Span(modeText, Self.bold))
        left.append(Span("  workers \(workersText)"))
        left.append(Span("  chunk \(chunkText)"))
        if state.settings.taskJitter > 0 {
            // The tasks' spread, stated: varying times are what make imap hold results back.
            left.append(Span("  tasks ±\(Int((state.settings.taskJitter * 100).rounded()))%"))
        }
        left.append(Span("  queue \(TextFormat.count(state.queue.items))"))
        if width >= 120 && state.resources.hasSamples && state.liveWorkerCount > 0 {
            // Pool totals, as htop's header sums its meters (narrower screens have them in the
            // workers box's title).
            let totals = state.resources.totals
            left.append(Span("  cpu \(Int(totals.cpuPercent.rounded()))% rss \(TextFormat.bytes(totals.residentBytes))"))
        }

        var right = runStateSpans()
        let help = [Span("  "), Span("?", CellStyle(bold: true)), Span("=help", Self.dim)]
        // The sparkline takes the room that is left, within bounds; "?=help" goes first if short.
        var room = width - left.width - right.width - 1
        if room - help.width >= 6 {
            right += help
            room -= help.width
        }
        // Labelled with the time it spans ("over 1.6s"), so that it reads as the queue's
        // history rather than as a progress bar; it moves only while the run does.
        // The label only where it leaves the graph room enough to read (the help explains it).
        let labelRoom = state.tickInterval == nil || room - 13 < 8 ? 0 : 11
        let samples = min(room - 2 - labelRoom, width >= 100 ? 32 : 16)
        var label = ""
        if labelRoom > 0, let interval = state.tickInterval {
            label = " over " + TextFormat.duration(interval * UInt64(max(0, min(state.queueHistory.count, samples))))
        }
        if samples >= 4 {
            let values = state.queueHistory.suffix(samples)
            let spark = TextFormat.sparkline(values)
            if !label.isEmpty { left.append(Span(label, Self.dim)) }
            left.append(Span(" "))
            left.append(Span(spark + String(repeating: " ", count: samples - values.count), CellStyle(color: .yellow)))
        }
        if left.width + right.width + 1 > width {
            // Narrow: single spaces between the settings, so the run state and clock still fit.
            left = left.map { Span($0.text.hasPrefix("  ") ? String($0.text.dropFirst()) : $0.text, $0.style) }
        }
        canvas.put(left, x: 0, y: y, maxWidth: width)
        canvas.put(right, x: max(left.width + 1, width - right.width), y: y)
    }

    private var modeText: String {
        if let mode = state.jobs.last?.descriptor.mode { return mode.rawValue }
        return state.settings.mode.rawValue
    }

    private var workersText: String {
        let live = state.liveWorkerCount
        let target = state.targetWorkers
        switch state.phase {
        case .finished, .terminated, .waiting: return "\(max(target, state.settings.workers))"
        case .running, .closing: return live == target ? "\(live)" : "\(live)→\(target)"
        }
    }

    private var chunkText: String {
        guard let chunk = state.effectiveChunksize else { return "auto" }
        return chunk.automatic ? "\(chunk.size) (auto)" : "\(chunk.size)"
    }

    private func runStateSpans() -> [Span] {
        let clock = Span(" " + TextFormat.clock(state.elapsed(now: now)))
        var replay: [Span] = []
        if let speed = ui.replaySpeed {
            replay = [Span(" REPLAY ", CellStyle(color: .magenta, bold: true, reverse: true)),
                      Span(" ×\(TextFormat.speed(speed)) ", CellStyle(color: .magenta))]
        }
        if let freeze = state.freeze, let back = freeze.rewoundBy {
            return replay + [Span(" REWOUND ", CellStyle(color: .yellow, bold: true, reverse: true)),
                             Span(" −\(TextFormat.tenths(back)) s", CellStyle(color: .yellow, bold: true)), clock]
        }
        if let freeze = state.freeze {
            if !replay.isEmpty { return replay + [Span(" PAUSED", CellStyle(color: .yellow, bold: true)), clock] }
            return [Span(" PAUSED ", CellStyle(color: .yellow, bold: true, reverse: true)),
                    Span(" +\(freeze.eventsBehind) events", CellStyle(color: .yellow)), clock]
        }
        let word: Span = switch state.phase {
        case .waiting: Span("WAITING", Self.dim)
        case .running: Span("RUNNING", CellStyle(color: .green, bold: true))
        case .closing: Span("CLOSING", CellStyle(color: .green, bold: true))
        case .finished: Span("FINISHED", CellStyle(color: .cyan, bold: true))
        case .terminated: Span("TERMINATED", CellStyle(color: .red, bold: true))
        }
        return replay.isEmpty ? [word, clock] : replay + [Span(" "), word, clock]
    }

    // MARK: notices

    /// Lines under the header that appear only when they have something to say: settings that
    /// wait for the next run, and events lost on the way.
    private func notices() -> [[Span]] {
        var lines: [[Span]] = []
        if let message = ui.message {
            lines.append([Span("» ", CellStyle(color: .yellow, bold: true)), Span(message, CellStyle(color: .yellow))])
        }
        if let death = selectedDeath() { lines.append(death) }
        if let watched = state.watched {
            // What matters most first: how the program ended, which pool this is; the command
            // line takes what room is left.
            var tail: [Span] = []
            if let pool = state.poolIdentity {
                tail.append(Span("  pool \(pool.pool) of pid \(pool.pid)"))
            }
            if watched.poolCount > 1 {
                tail += [Span(" (\(watched.poolNumber)/\(watched.poolCount)", CellStyle(color: .yellow, bold: true)),
                         Span(" n next)", Self.dim)]
            } else if watched.poolCount == 0 {
                tail.append(Span("  no pool yet", Self.dim))
            }
            if watched.engine != "swift" { tail.append(Span("  \(watched.engine)", Self.dim)) }
            if let status = watched.exitStatus {
                tail += [Span("  ended: ", Self.dim), Span(status, CellStyle(color: status == "exit 0" ? .green : .red, bold: true))]
            } else if !watched.connected && watched.poolCount > 0 {
                tail.append(Span("  pool finished", Self.dim))
            }
            let lead = watched.attached ? "attached " : "watching "
            let room = max(8, width - lead.count - tail.width)
            var line = [Span(lead, Self.dim), Span(TextFormat.clip(watched.command, room), Self.bold)]
            line += tail
            lines.append(line)
            if let message = watched.message {
                lines.append([Span("» ", CellStyle(color: .yellow, bold: true)), Span(message, CellStyle(color: .yellow))])
            }
        }
        if state.hasPendingChanges && state.watched == nil {
            var line = [Span("next run:", CellStyle(color: .yellow, bold: true))]
            let active = state.settings, pending = state.pendingSettings
            if state.hasPendingWorkers {
                line += [Span(" workers \(active.workers) → "), Span("\(pending.workers)", CellStyle(color: .yellow, bold: true))]
            }
            if pending.chunksize != active.chunksize {
                if line.count > 1 { line.append(Span(" ·", Self.dim)) }
                let to = pending.chunksize.explicitValue.map(String.init) ?? "auto"
                line += [Span(" chunk \(chunkText) → "), Span(to, CellStyle(color: .yellow, bold: true))]
            }
            if pending.mode != active.mode {
                if line.count > 1 { line.append(Span(" ·", Self.dim)) }
                line += [Span(" mode \(modeText) → "), Span(pending.mode.rawValue, CellStyle(color: .yellow, bold: true))]
            }
            line.append(Span("   r restarts now", Self.dim))
            lines.append(line)
        }
        if let history, history.droppedEvents > 0, state.freeze != nil || ui.back(.events) > 0 || ui.back(.log) > 0 {
            lines.append([Span("history: the oldest \(TextFormat.count(history.droppedEvents)) events were let go", CellStyle(color: .yellow)),
                          Span(" (memory bound \(EventStore.defaultByteBudget >> 20) MiB)", Self.dim)])
        }
        if state.droppedEvents > 0 {
            lines.append([Span("⚠ \(state.droppedEvents) events dropped", CellStyle(color: .red, bold: true)),
                          Span(" (the monitor fell behind): counts may be low", CellStyle(color: .red))])
        }
        return lines
    }

    // MARK: jobs

    /// The jobs that get rows: the latest ones, as many as fit.
    private func shownJobs(maxRows: Int) -> [JobProgress] {
        // Scrolled back (completion order focused, PgUp): older jobs, bars and strips alike.
        Array(state.jobs.dropLast(min(ui.back(.completion), max(0, state.jobs.count - 1))).suffix(max(1, maxRows)))
    }

    private func jobRows(_ jobs: [JobProgress]) -> [[Span]] {
        guard !jobs.isEmpty else { return [[Span("waiting for jobs…", Self.dim)]] }
        let countWidth = jobs.map { TextFormat.count($0.itemCount).count * 2 + 1 }.max() ?? 3
        let chunkWidth = jobs.map { TextFormat.count($0.chunkCount).count * 2 + 1 }.max() ?? 3
        let statuses = jobs.map(jobStatus)
        // The bar takes what is left after label, counts and the longest status, within bounds.
        let fixed = labelWidth + 2 + 2 + countWidth + 9 + chunkWidth + 2 + (statuses.map(\.width).max() ?? 0)
        let barWidth = min(50, max(10, width - fixed))
        return zip(jobs, statuses).map { job, status in
            jobBar(job, barWidth: barWidth, countWidth: countWidth, chunkWidth: chunkWidth) + status
        }
    }

    /// `sum     [█████▒▒░░░]  5/10  chunks 2/5  `
    private func jobBar(_ job: JobProgress, barWidth: Int, countWidth: Int, chunkWidth: Int) -> [Span] {
        let total = max(job.itemCount, 1)
        let finishedCells = min(barWidth, job.itemsDone * barWidth / total)
        // Failed items get cells of their own (at least one), red and marked ✗, at the end of the
        // finished part: a poison run's bar must not read as all done.
        let failedCells = job.itemsFailed > 0 ? min(finishedCells, max(1, job.itemsFailed * barWidth / total)) : 0
        let doneCells = finishedCells - failedCells
        let busyCells = max(0, min(barWidth, (job.itemsDone + job.itemsInFlight) * barWidth / total) - finishedCells)
        let jobStyle = style(ofJob: job.id)
        return [
            Span(TextFormat.fit(job.label, labelWidth), style(ofJob: job.id, bold: true)),
            Span(" ["),
            Span(String(repeating: "█", count: doneCells), jobStyle),
            Span(String(repeating: "✗", count: failedCells), CellStyle(color: .red, bold: true)),
            Span(String(repeating: "▒", count: busyCells), jobStyle),
            Span(String(repeating: "░", count: barWidth - finishedCells - busyCells), Self.queuedShade),
            Span("] "),
            // Items that succeeded: a failed one is not counted as done.
            Span(TextFormat.right("\(TextFormat.count(job.itemsDone - job.itemsFailed))/\(TextFormat.count(job.itemCount))", countWidth)),
            Span("  chunks ", Self.dim),
            Span(TextFormat.fit("\(TextFormat.count(job.chunksDone))/\(TextFormat.count(job.chunkCount))", chunkWidth)),
            Span("  "),
        ]
    }

    /// How much of the workers' time went to the job's items (`eff 62%`), and a chunk size
    /// that would waste less (`try 40`) when it differs enough from the one in use to matter.
    private func efficiencySpans(_ job: JobProgress) -> [Span] {
        // Below 80 columns the bar and the status need the room.
        // A failing job's row needs its room for the failure.
        guard width >= 80, job.itemsFailed == 0, job.completionError == nil, let efficiency = state.tuning.gauge(ofJob: job.id)?.efficiency else { return [] }
        let percent = Int((efficiency * 100).rounded(.down))
        let color: CellColor = efficiency >= 0.9 ? .green : efficiency >= 0.7 ? .yellow : .red
        var spans = [Span("eff ", Self.dim), Span("\(percent)%", CellStyle(color: color)), Span("  ")]
        let size = job.chunksize
        if !job.isComplete, let suggested = state.tuning.suggestedChunksize(
            ofJob: job.id, chunksize: size, chunksDone: job.chunksDone, items: job.itemCount,
            workers: max(1, state.liveWorkerCount)), suggested >= 2 * size || 2 * suggested <= size {
            spans.insert(contentsOf: [Span(" try ", Self.dim), Span("\(suggested)", CellStyle(color: .yellow, bold: true))], at: 2)
        }
        return spans
    }

    /// Failures, re-runs, and how the job stands: `✗ 1 failed  ↻ 1 re-run  running`.
    private func jobStatus(_ job: JobProgress) -> [Span] {
        var spans: [Span] = efficiencySpans(job)
        if job.itemsFailed > 0 { spans.append(Span("✗ \(job.itemsFailed) failed  ", CellStyle(color: .red, bold: true))) }
        if job.retries > 0 { spans.append(Span("↻ \(job.retries) re-run  ", CellStyle(color: .yellow))) }
        if let completedAt = job.completedAt {
            if let error = job.completionError {
                spans.append(Span("✗ failed: \(TextFormat.clip(error, 40))", CellStyle(color: .red, bold: true)))
            } else {
                let took = completedAt >= job.submittedAt ? completedAt - job.submittedAt : 0
                spans.append(Span("✓ done in \(TextFormat.duration(took))", CellStyle(color: .green)))
            }
        } else if job.itemsDone == 0 && job.itemsInFlight == 0 {
            spans.append(Span("queued", Self.dim))
        } else {
            spans.append(Span("running", CellStyle(color: .green)))
        }
        return spans
    }
}
