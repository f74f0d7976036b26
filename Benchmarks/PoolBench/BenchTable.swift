/// The medians of a run, as a table for people and as `bench:` lines for programs.
struct BenchTable {
    struct Row {
        let workload: Workload
        let ours: Double?
        let reference: Double?
        let oursDetails: [String: Double]
        let referenceDetails: [String: Double]
        let failure: String?
        let skipped: String?
        /// What the pipes allow (the C pool of `Benchmarks/C/pipe_limit.c`), for throughput rows.
        let limit: Double?

        /// Ours as a fraction of what the pipes allow.
        var ofLimit: Double? {
            guard let ours, let limit, limit > 0 else { return nil }
            return ours / limit
        }

        /// For a row whose two sides come from one process each round (``Workload/referencePrefix``):
        /// the median of each round's own ratio.
        let pairedRatio: Double?

        var ratio: Double? {
            if let pairedRatio { return pairedRatio }
            guard let ours, let reference, ours > 0, reference > 0 else { return nil }
            return workload.ratio(ours: ours, reference: reference)
        }
    }

    let rows: [Row]
    /// Why there is no limit column, if there is none.
    let limitProblem: String?

    init(workloads: [Workload], samples: BenchSamples, limitProblem: String? = nil) {
        self.limitProblem = limitProblem
        rows = workloads.map { workload in
            let ours = samples.ours[workload.name]
            let reference = samples.reference[workload.name]
            return Row(
                workload: workload, ours: ours?.values.median, reference: reference?.values.median,
                oursDetails: ours?.fields.compactMapValues(\.median) ?? [:],
                referenceDetails: reference?.fields.compactMapValues(\.median) ?? [:],
                failure: samples.failures[workload.name]?.first, skipped: samples.skipped[workload.name],
                limit: samples.limit[workload.name]?.values.median,
                pairedRatio: workload.referencePrefix == nil ? nil : Self.pairedRatio(workload, ours?.values, reference?.values))
        }
    }

    /// The median of the rounds' own ratios, when each round measured both sides in one process.
    /// Rounds drift (this machine's speed moves by ±10% from minute to minute), and a ratio of
    /// the two sides' medians can pair one round's watched runs with another's unwatched ones;
    /// a round's own ratio cannot.
    static func pairedRatio(_ workload: Workload, _ ours: [Double]?, _ reference: [Double]?) -> Double? {
        guard let ours, let reference, ours.count == reference.count, !ours.isEmpty else { return nil }
        return zip(ours, reference).compactMap { $0 > 0 && $1 > 0 ? workload.ratio(ours: $0, reference: $1) : nil }.median
    }

    func rendered() -> String {
        var lines: [[String]] = [["workload", "unit", "ours", "reference", "ratio", "limit", "ours/limit", "notes"]]
        for row in rows {
            let unit = row.workload.unit
            var notes: [String] = [row.workload.referenceName]
            if let failure = row.failure { notes.append("FAILED: \(failure.prefix(120))") }
            if let skipped = row.skipped { notes.append("skipped: \(skipped)") }
            switch row.workload.name {
            case "memory_parent":
                if let before = row.oursDetails["before"], let before2 = row.referenceDetails["before"],
                   let ours = row.ours, let reference = row.reference {
                    notes.append("growth over the tasks: ours \(Self.format(ours - before, .megabytes)) MB, CPython \(Self.format(reference - before2, .megabytes)) MB")
                }
                if let peak = row.oursDetails["peak"], let peak2 = row.referenceDetails["peak"] {
                    notes.append("peak: ours \(Self.format(peak, .megabytes)) MB, CPython \(Self.format(peak2, .megabytes)) MB")
                }
            case "latency":
                if let p50 = row.oursDetails["p50"], let p50b = row.referenceDetails["p50"] {
                    notes.append("p99 shown; p50: ours \(String(decimals: p50, 3)) ms, CPython \(String(decimals: p50b, 3)) ms")
                }
            case "monitored", "monitored_socket":
                if row.pairedRatio != nil { notes.append("ratio: the median of each round's own") }
                if let seconds = row.oursDetails["seconds"], let caughtUp = row.oursDetails["caught_up"] {
                    notes.append("results at \(String(decimals: seconds, 3)) s, the watcher had folded every event at \(String(decimals: caughtUp, 3)) s")
                }
                if let dropped = row.oursDetails["dropped"] { notes.append("events dropped: \(Int(dropped))") }
            default: break
            }
            lines.append([
                row.workload.name, unit.rawValue,
                row.ours.map { Self.format($0, unit) } ?? "-",
                row.reference.map { Self.format($0, unit) } ?? "-",
                row.ratio.map { String(format2: $0) + "×" } ?? "-",
                row.limit.map { Self.format($0, unit) } ?? "-",
                row.ofLimit.map { String(format2: $0) } ?? "-",
                notes.joined(separator: "; "),
            ])
        }
        let columns = 7
        let widths = (0..<columns).map { column in lines.map { $0[column].count }.max() ?? 0 }
        var text = lines.map { cells in
            (0..<columns).map { column in
                let cell = cells[column]
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column >= 2 ? padding + cell : cell + padding
            }.joined(separator: "  ") + "  " + cells[columns]
        }
        text.insert(String(repeating: "-", count: widths.reduce(0, +) + 2 * columns + 6), at: 1)
        text.append("medians over the rounds. ratio > 1 means we do better: tasks/s ours/reference; s, ms and MB reference/ours.")
        text.append("limit: a bare C pool over the same pipes (Benchmarks/C/pipe_limit.c: 2 forked workers, a pipe pair each, 24-byte tasks, 16-byte results, our in-flight depth); ours/limit = ours / limit."
                    + (limitProblem.map { " No limit column here: \($0)" } ?? ""))
        return text.joined(separator: "\n")
    }

    /// `bench: NAME ours=V python=V ratio=R` per workload (`unwatched=` for `monitored`, whose
    /// reference is our own pool without a subscriber).
    func machineLines() -> [String] {
        rows.map { row in
            let workload = row.workload
            guard let ours = row.ours, let reference = row.reference, let ratio = row.ratio else {
                return "bench: \(workload.name) \(row.skipped != nil && row.failure == nil ? "skipped" : "failed")"
            }
            var line = "bench: \(workload.name) ours=\(Self.plain(ours, workload.unit)) "
                + "\(workload.referenceKey)=\(Self.plain(reference, workload.unit)) ratio=\(String(format2: ratio))"
            for field in workload.detailFields {
                if let value = row.oursDetails[field] { line += " ours_\(field)=\(Self.plain(value))" }
                if let value = row.referenceDetails[field] { line += " \(workload.referenceKey)_\(field)=\(Self.plain(value))" }
            }
            if let limit = row.limit, let ofLimit = row.ofLimit {
                line += " limit=\(Self.plain(limit, workload.unit)) ours_of_limit=\(String(format2: ofLimit))"
            }
            if workload.name == "memory_parent", let before = row.oursDetails["before"], let before2 = row.referenceDetails["before"] {
                line += " ours_growth=\(Self.plain(ours - before)) \(workload.referenceKey)_growth=\(Self.plain(reference - before2))"
            }
            return line
        }
    }

    static func format(_ value: Double, _ unit: Workload.Unit) -> String {
        switch unit {
        case .tasksPerSecond: Int(value.rounded()).formattedWithSeparators
        case .seconds: String(decimals: value, 4)
        case .megabytes: String(decimals: value, 1)
        case .milliseconds: String(decimals: value, 3)
        }
    }

    /// A detail field: whole numbers as such, others with four decimals.
    static func plain(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value))" : String(decimals: value, 4)
    }

    static func plain(_ value: Double, _ unit: Workload.Unit) -> String {
        switch unit {
        case .tasksPerSecond: "\(Int(value.rounded()))"
        case .seconds: String(decimals: value, 4)
        case .megabytes: String(decimals: value, 2)
        case .milliseconds: String(decimals: value, 3)
        }
    }
}
