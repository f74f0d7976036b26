import ProcessPool

/// How a job's items are cut into chunks, rebuilt from its `chunksQueued` events.
///
/// Events name items, not chunks, when they finish; the plan answers "which chunk is item `i` in"
/// so that chunk progress and chunk boundaries can be tracked without the engine repeating them.
/// One `chunksQueued` event covers a run of chunks of `chunksize` items each but the last, so the
/// plan stores runs, not chunks: a million-item map is one run.
public struct ChunkPlan: Sendable, Equatable {
    /// One `chunksQueued` event: chunks `firstChunk ..< firstChunk + chunks` hold items
    /// `start ..< start + count`, `chunksize` each but the last.
    public struct Run: Sendable, Equatable {
        public var firstChunk: Int
        public var chunks: Int
        public var start: Int
        public var count: Int
        public var chunksize: Int
    }

    /// Runs in the order queued; both items and chunks grow from one run to the next.
    public private(set) var runs: [Run] = []

    public init() {}

    /// One past the highest chunk number queued so far.
    public var chunkCount: Int { runs.last.map { $0.firstChunk + $0.chunks } ?? 0 }
    /// One past the highest item index queued so far.
    public var itemCount: Int { runs.last.map { $0.start + $0.count } ?? 0 }

    mutating func add(firstChunk: Int, chunks: Int, start: Int, count: Int, chunksize: Int) {
        guard chunks > 0, count > 0 else { return }
        // The chunk size of the run: the job's, unless the run itself says otherwise (one chunk).
        let size = chunks == 1 ? count : max(1, chunksize)
        runs.append(Run(firstChunk: firstChunk, chunks: chunks, start: start, count: count, chunksize: size))
    }

    /// Items from `start` on were cut again (`chunksRecut`) into chunks numbered from
    /// `firstChunk`: the runs are cut back to end there, and the new run follows them.
    mutating func recut(firstChunk: Int, chunks: Int, start: Int, count: Int, chunksize: Int) {
        guard chunks > 0, count > 0, start >= 0, firstChunk >= 0 else { return }
        while let last = runs.last, last.start >= start || last.firstChunk >= firstChunk { runs.removeLast() }
        if var last = runs.popLast() {
            // The items before `start` keep their chunks, which end where the new ones begin.
            last.count = min(last.count, start - last.start)
            last.chunks = min(last.chunks, firstChunk - last.firstChunk)
            if last.count > 0 && last.chunks > 0 { runs.append(last) }
        }
        runs.append(Run(firstChunk: firstChunk, chunks: chunks, start: start, count: count, chunksize: max(1, chunksize)))
    }

    /// The chunk holding item `index`, or nil if no queued run covers it.
    public func chunk(containing index: Int) -> Int? {
        guard let run = run(where: { index < $0.start + $0.count }), index >= run.start else { return nil }
        return run.firstChunk + (index - run.start) / run.chunksize
    }

    /// The items of chunk `chunk`, or nil if it was never queued.
    public func items(ofChunk chunk: Int) -> Range<Int>? {
        guard let run = run(where: { chunk < $0.firstChunk + $0.chunks }), chunk >= run.firstChunk else { return nil }
        let lower = run.start + (chunk - run.firstChunk) * run.chunksize
        return lower..<min(lower + run.chunksize, run.start + run.count)
    }

    /// The first run for which `isAtOrAfter` holds (runs are sorted, so a binary search: events
    /// must stay O(log runs), and runs are almost always one).
    private func run(where isAtOrAfter: (Run) -> Bool) -> Run? {
        if let last = runs.last, runs.count == 1 { return isAtOrAfter(last) ? last : nil }
        var low = 0, high = runs.count
        while low < high {
            let mid = (low + high) / 2
            if isAtOrAfter(runs[mid]) { high = mid } else { low = mid + 1 }
        }
        return low < runs.count ? runs[low] : nil
    }
}
