/// Every value measured so far, per workload and side.
struct BenchSamples {
    struct Side {
        /// Each round's value of the compared field.
        var values: [Double] = []
        /// Each round's value of every result field, for the details.
        var fields: [String: [Double]] = [:]
    }

    private(set) var ours: [String: Side] = [:]
    private(set) var reference: [String: Side] = [:]
    /// What the pipes allow, per workload (``Workload/limit``).
    private(set) var limit: [String: Side] = [:]
    private(set) var failures: [String: [String]] = [:]

    var hasFailures: Bool { !failures.isEmpty }

    mutating func add(_ workload: Workload, ours isOurs: Bool, fields: [String: Double]) {
        var fields = fields
        if !isOurs, let prefix = workload.referencePrefix {
            // The reference's own fields, from a line that carries both sides.
            fields = Dictionary(uniqueKeysWithValues: fields.compactMap { key, value in
                key.hasPrefix(prefix) ? (String(key.dropFirst(prefix.count)), value) : nil
            })
        }
        var side = (isOurs ? ours[workload.name] : reference[workload.name]) ?? Side()
        if let value = fields[workload.field] { side.values.append(value) }
        for (key, value) in fields { side.fields[key, default: []].append(value) }
        if isOurs { ours[workload.name] = side } else { reference[workload.name] = side }
    }

    mutating func addLimit(_ workload: Workload, fields: [String: Double]) {
        var side = limit[workload.name] ?? Side()
        if let value = fields["value"] { side.values.append(value) }
        for (key, value) in fields { side.fields[key, default: []].append(value) }
        limit[workload.name] = side
    }

    mutating func fail(_ workload: String, _ reason: String) {
        failures[workload, default: []].append(reason)
    }

    /// Why a workload could not run here, if it could not.
    private(set) var skipped: [String: String] = [:]

    mutating func skip(_ workload: String, _ reason: String) {
        skipped[workload] = reason
    }
}
