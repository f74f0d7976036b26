extension PoolEvent {
    /// Whether this event begins another pool's run in a log that holds several, given the event
    /// before it in the log.
    ///
    /// `poolmon watch --events` records every run the monitor makes (`r`, `--loop`) into one
    /// file, one pool after another, and each pool's event times start again at 0. In schema 2
    /// every pool's stream begins with `poolCreated`; a schema 1 stream begins with `poolResized`
    /// from 0 workers (the pool's size, sent to every new subscriber first); failing both, time
    /// running backwards by more than a second can only be a new pool.
    public func beginsNewRun(after previous: PoolEvent) -> Bool {
        if case .poolCreated = kind { return true }
        if case .poolCreated = previous.kind { return false }
        if case .poolResized(from: 0, _) = kind { return true }
        return time &+ 1_000_000_000 < previous.time
    }

    /// The runs of a log, in order: `events` cut before each event that
    /// ``beginsNewRun(after:)`` says starts another pool.
    public static func runs(in events: [PoolEvent]) -> [ArraySlice<PoolEvent>] {
        var runs: [ArraySlice<PoolEvent>] = []
        var start = events.startIndex
        for index in events.indices.dropFirst() where events[index].beginsNewRun(after: events[index - 1]) {
            runs.append(events[start..<index])
            start = index
        }
        if start < events.endIndex { runs.append(events[start...]) }
        return runs
    }
}
