import DequeModule

/// The most recent `capacity` values of a sequence of integers that comes in runs of consecutive
/// values (item indices or chunk numbers in the order they finished), kept as those runs.
///
/// A worker of tiny items reports a run of hundreds of them per result frame; as runs, a frame
/// costs O(1) to record however long it is (a ring of single values cost one store per value,
/// most of a watcher's time at chunk size 1). Values are given back one by one only when the
/// screen asks, and it asks for the newest few.
public struct RecentRuns: Sendable, Equatable {
    public let capacity: Int
    /// Oldest first; no run is empty, and their counts add up to `count` (at most `capacity`).
    private var runs: Deque<Range<Int>> = []
    /// Values kept.
    public private(set) var count = 0

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var isEmpty: Bool { count == 0 }

    /// Appends `value`; a value right after the newest one extends the newest run.
    /// `Int.max` (no index the fold lets through) is ignored rather than trapping.
    public mutating func append(_ value: Int) {
        guard value < Int.max else { return }
        append(contentsOf: value..<value + 1)
    }

    /// Appends the values of `values`, in increasing order, as appending each in turn would
    /// (only the newest `capacity` values are kept). O(1), amortised.
    public mutating func append(contentsOf values: Range<Int>) {
        guard !values.isEmpty else { return }
        let values = values.count > capacity ? (values.upperBound - capacity)..<values.upperBound : values
        if let last = runs.last, last.upperBound == values.lowerBound {
            runs[runs.count - 1] = last.lowerBound..<values.upperBound
        } else {
            runs.append(values)
        }
        count += values.count
        // Drop the oldest values beyond the capacity: whole runs, then the front of one.
        while count > capacity, let first = runs.first {
            let excess = count - capacity
            if first.count <= excess {
                runs.removeFirst()
                count -= first.count
            } else {
                runs[0] = (first.lowerBound + excess)..<first.upperBound
                count -= excess
            }
        }
    }

    /// How many runs hold the values kept (what they cost in memory: 16 bytes each).
    public var runCount: Int { runs.count }

    /// The newest value, if any.
    public var last: Int? { runs.last.map { $0.upperBound - 1 } }

    /// The values kept, newest first, one by one (lazily: the screen reads a few).
    public var newestFirst: some Sequence<Int> { runs.reversed().lazy.flatMap { $0.reversed() } }

    /// Everything kept, oldest first.
    public var elements: [Int] {
        var values: [Int] = []
        values.reserveCapacity(count)
        for run in runs { values.append(contentsOf: run) }
        return values
    }
}
