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

        var ratio: Double? {
            guard let ours, let reference, ours > 0, reference > 0 else { return nil }
            return workload.ratio(ours: ours, reference: reference)
        }
    }

    let rows: [Row]

    init(workloads: [Workload], samples: BenchSamples) {
        rows = workloads.map { workload in
            let ours = samples.ours[workload.name]
            let reference = samples.reference[workload.name]
            return Row(
                workload: workload, ours: ours?.values.median, reference: reference?.values.median,
                oursDetails: ours?.fields.compactMapValues(\.median) ?? [:],
                referenceDetails: reference?.fields.compactMapValues(\.median) ?? [:],
                failure: samples.failures[workload.name]?.first, skipped: samples.skipped[workload.name])
        }
    }

    func rendered() -> String {
        var lines: [[String]] = [["workload", "unit", "ours", "reference", "ratio", "notes"]]
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
            case "monitored":
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
                notes.joined(separator: "; "),
            ])
        }
        let widths = (0..<5).map { column in lines.map { $0[column].count }.max() ?? 0 }
        var text = lines.map { cells in
            (0..<5).map { column in
                let cell = cells[column]
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column >= 2 && column <= 4 ? padding + cell : cell + padding
            }.joined(separator: "  ") + "  " + cells[5]
        }
        text.insert(String(repeating: "-", count: widths.reduce(0, +) + 16), at: 1)
        text.append("medians over the rounds. ratio > 1 means we do better: tasks/s ours/reference; s and MB reference/ours.")
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
        }
    }
}
