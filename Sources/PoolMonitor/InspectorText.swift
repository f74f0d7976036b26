import ProcessPool

/// The inspector's lines: an item's report, or a worker's (the item it runs, and the death
/// report of the last process that died in its slot).
enum InspectorText {
    /// A worker's line with control characters (tabs, escapes) shown as spaces: the box stays a box.
    static func printable(_ line: String) -> String {
        String(String.UnicodeScalarView(line.unicodeScalars.map { $0.value < 0x20 || (0x7f..<0xa0).contains($0.value) ? " " : $0 }))
    }

    static let dim = CellStyle(dim: true)
    static let bold = CellStyle(bold: true)
    static let red = CellStyle(color: .red, bold: true)

    static func lines(for inspection: Inspection, store: EventStore, position: Int, state: MonitorState, now: UInt64) -> [[Span]] {
        switch inspection {
        case .item(let job, let index):
            return itemLines(ItemReport.make(job: job, index: index, store: store, position: position, state: state), now: now)
        case .worker(let slot):
            var lines: [[Span]] = []
            let worker = slot < state.slots.count ? state.slots[slot] : nil
            if let worker {
                lines.append([Span("worker \(worker.pid)", bold), Span("  slot \(slot) · \(worker.activity.word)", dim)])
            }
            if let death = DeathReport.latest(inSlot: slot, store: store, before: position, state: state) {
                lines += deathLines(death, state: state)
            }
            if let item = worker?.currentItem?.item {
                if !lines.isEmpty { lines.append([]) }
                lines += itemLines(ItemReport.make(job: item.job, index: item.index, store: store, position: position, state: state), now: now)
            } else if lines.count <= 1 {
                lines.append([Span("no item running, and no worker died in this slot", dim)])
            }
            return lines
        }
    }

    static func itemLines(_ report: ItemReport, now: UInt64) -> [[Span]] {
        var lines: [[Span]] = [
            [Span("item ", dim), Span(report.call, bold),
             Span("  job \(report.label) · item \(report.index + 1) (1-based) · \(report.mode?.rawValue ?? "?")", dim)],
        ]
        if report.attempts.isEmpty {
            lines.append([Span("  not handed to a worker yet", dim)])
        }
        for (number, attempt) in report.attempts.enumerated() {
            var spans = [Span("  attempt \(number + 1)  ", bold), Span("worker \(attempt.pid)")]
            spans.append(Span("  sent \(TextFormat.seconds(attempt.dispatchedAt))s", dim))
            if let started = attempt.startedAt { spans.append(Span("  start \(TextFormat.seconds(started))s", dim)) }
            if let duration = attempt.duration {
                spans.append(Span("  took \(TextFormat.duration(duration))", dim))
            } else if let started = attempt.startedAt, attempt.outcome == "running" {
                spans.append(Span("  for \(TextFormat.duration(now &- min(now, started)))", dim))
            }
            let style = attempt.outcome.hasPrefix("ok") ? CellStyle(color: .green) :
                (attempt.outcome.hasPrefix("failed") || attempt.outcome.hasPrefix("worker died") ? red : CellStyle(color: .yellow))
            spans.append(Span("  " + attempt.outcome, style))
            lines.append(spans)
            for line in attempt.output { lines.append([Span("    │ ", dim), Span(printable(line))]) }
        }
        if let delivered = report.deliveredAt, let why = report.deliveryReason {
            lines.append([Span("  delivered ", bold), Span("at \(TextFormat.seconds(delivered))s · ", dim), Span(why)])
        } else {
            lines.append([Span("  not delivered to the caller yet", dim)])
        }
        return lines
    }

    static func deathLines(_ death: DeathReport, state: MonitorState) -> [[Span]] {
        var lines: [[Span]] = [[Span("✝ worker \(death.pid) died at \(TextFormat.seconds(death.time))s: ", red), Span(death.cause, red)]]
        var facts: [String] = []
        if let lifetime = death.lifetime { facts.append("lived \(TextFormat.duration(lifetime))") }
        if let rss = death.peakRSSKilobytes { facts.append("peak RSS \(TextFormat.kibibytes(rss))") }
        if !facts.isEmpty { lines.append([Span("  " + facts.joined(separator: " · "), dim)]) }
        if let item = death.item {
            lines.append([Span("  was running ", dim), Span(state.describe(item), bold),
                          Span(" (item \(item.index + 1) of \(state.job(id: item.job)?.label ?? "job \(item.job)"))", dim)])
        }
        for chunk in death.requeued {
            let label = state.job(id: chunk.job)?.label ?? "job \(chunk.job)"
            lines.append([Span("  back in the queue: ", CellStyle(color: .yellow)),
                          Span("\(label) chunk \(chunk.chunk + 1) (items \(TextFormat.items(chunk.start..<chunk.start + chunk.count)))")])
        }
        if death.requeued.isEmpty { lines.append([Span("  nothing went back to the queue", dim)]) }
        if !death.lastOutput.isEmpty {
            lines.append([Span("  its last output:", dim)])
            for line in death.lastOutput { lines.append([Span("    │ ", dim), Span(printable(line))]) }
        }
        return lines
    }
}
