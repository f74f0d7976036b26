import ProcessPool

/// What the monitor knows about one job: how far it got, in what order its items and chunks
/// finished, and what its caller has received so far.
///
/// Per-item and per-chunk tables are filled when chunks are queued (work proportional to what
/// was queued, once); every later event touches O(1) of them, so a million-item job folds in
/// linear time.
public struct JobProgress: Sendable {
    public private(set) var descriptor: JobDescriptor
    /// The letter that stands for this job in the task stream (`s` for `sum`, `p` for `product`).
    public internal(set) var letter: Character
    public private(set) var plan = ChunkPlan()

    /// Items known so far (the descriptor's count, or more as a lazily read input is queued).
    public var itemCount: Int { max(descriptor.itemCount, plan.itemCount) }
    /// Chunks queued so far.
    public var chunkCount: Int { plan.chunkCount }

    public private(set) var itemsDone = 0
    public private(set) var itemsFailed = 0
    public private(set) var chunksDone = 0
    /// Items handed to workers and not yet finished (a requeued chunk's remainder leaves this).
    public private(set) var itemsInFlight = 0
    /// Items run again because their worker died.
    public private(set) var retries = 0
    /// The first failure reported for an item, kept to show why a job failed.
    public private(set) var firstItemError: String?
    /// The latest failed item indices (a few: the screen marks them `✗` in the completion order).
    public private(set) var recentFailures = RecentHistory<Int>(capacity: failureLimit)
    /// Failed items remembered one by one.
    public static let failureLimit = 64

    /// How many entries of the completion histories are kept: the screen shows only their tail,
    /// and a ten-million-item run must not keep ten million of them.
    public static let historyLimit = 4096

    /// The latest item indices in the order they finished (the raw truth; chunks are below),
    /// kept as runs: a result frame's run of items is one entry.
    public private(set) var recentCompletions = RecentRuns(capacity: historyLimit)
    /// The latest chunk numbers in the order their last item finished, kept as runs.
    public private(set) var recentChunkCompletions = RecentRuns(capacity: historyLimit)
    /// Chunks with some but not all items finished, in the order their first item finished.
    public private(set) var openChunks: [Int] = []

    /// The latest result ranges in the order the caller received them.
    public private(set) var recentDeliveries = RecentHistory<Range<Int>>(capacity: historyLimit)
    public private(set) var itemsDelivered = 0
    /// Items `0 ..< deliveredPrefix` have all been delivered in one ordered run (the `imap`
    /// cursor; for `imap_unordered` it stops at the first range that arrives out of order).
    public private(set) var deliveredPrefix = 0

    public private(set) var submittedAt: UInt64
    /// When `jobCompleted` arrived; nil while the job runs.
    public private(set) var completedAt: UInt64?
    /// The job's error as `jobCompleted` reported it.
    public private(set) var completionError: String?

    public var isComplete: Bool { completedAt != nil }
    /// Item indices in the order they finished (the newest ``historyLimit`` of them).
    public var completionOrder: [Int] { recentCompletions.elements }
    /// Chunk numbers in the order they finished (the newest ``historyLimit`` of them).
    public var chunkCompletionOrder: [Int] { recentChunkCompletions.elements }
    /// Result ranges in the order they were delivered (the newest ``historyLimit`` of them).
    public var deliveries: [Range<Int>] { recentDeliveries.elements }
    public var label: String { descriptor.label }
    public var id: Int { descriptor.id }

    /// One bit per item: finished already (so that a duplicate report is not counted twice).
    private var finishedBits: [UInt64] = []
    /// Per chunk: items finished so far. Chunks of one item are not counted here (their item's
    /// bit says it all): a watched million-item map at chunk size 1 needs no 4 MB table of them.
    private var chunkFinished: [Int32] = []

    init(descriptor: JobDescriptor, letter: Character, time: UInt64) {
        self.descriptor = descriptor
        chunksize = max(1, descriptor.chunksize)
        self.letter = letter
        submittedAt = time
    }

    /// imap only: items whose chunk finished while an earlier item was still running, so that
    /// their results waited (imap's holding back, which lasts only moments: this says it happened).
    public private(set) var itemsHeldBack = 0

    /// Counts `items`, a chunk just finished, as held back when an earlier item is unfinished
    /// (looking a bounded way back from the chunk: O(64)).
    private mutating func noteHeldBack(_ items: Range<Int>) {
        guard descriptor.mode == .imap, items.lowerBound > deliveredPrefix else { return }
        let from = max(deliveredPrefix, items.lowerBound - 64)
        if (from..<items.lowerBound).contains(where: { !isFinished($0) }) { itemsHeldBack += items.count }
    }

    /// Whether item `index` is among the latest ``failureLimit`` failures. O(``failureLimit``).
    public func isFailed(_ index: Int) -> Bool {
        itemsFailed > 0 && recentFailures.elements.contains(index)
    }

    /// Whether any item in `range` is among the latest failures (one pass over them).
    public func hasFailure(in range: Range<Int>) -> Bool {
        itemsFailed > 0 && recentFailures.elements.contains { range.contains($0) }
    }

    /// Whether item `index` has finished.
    public func isFinished(_ index: Int) -> Bool {
        guard index >= 0, index >> 6 < finishedBits.count else { return false }
        return finishedBits[index >> 6] & (1 << UInt64(index & 63)) != 0
    }

    /// Items of chunk `chunk` finished so far.
    public func finishedCount(ofChunk chunk: Int) -> Int {
        if let items = plan.items(ofChunk: chunk), items.count == 1, items.lowerBound >> 6 < finishedBits.count {
            return isFinished(items.lowerBound) ? 1 : 0
        }
        return chunk >= 0 && chunk < chunkFinished.count ? Int(chunkFinished[chunk]) : 0
    }

    // MARK: folding

    mutating func chunksQueued(firstChunk: Int, chunks: Int, start: Int, count: Int) {
        // Already covered by the plan implied for a job joined late (see `itemFinished`).
        guard start >= plan.itemCount, firstChunk >= plan.chunkCount else { return }
        plan.add(firstChunk: firstChunk, chunks: chunks, start: start, count: count, chunksize: chunksize)
    }

    /// The items per chunk the pool cuts this job's queued work into now: the descriptor's,
    /// until the rest is cut again mid-run (`chunksRecut`).
    public private(set) var chunksize = 1
    /// Times the job's queued rest was cut again.
    public private(set) var recuts = 0

    mutating func chunksRecut(chunksize: Int, firstChunk: Int, chunks: Int, start: Int, count: Int) {
        self.chunksize = max(1, chunksize)
        recuts += 1
        plan.recut(firstChunk: firstChunk, chunks: chunks, start: start, count: count, chunksize: chunksize)
    }

    mutating func chunkDispatched(count: Int) { itemsInFlight += count }

    mutating func chunkRequeued(count: Int) { itemsInFlight = max(0, itemsInFlight - count) }

    mutating func itemRetried() { retries += 1 }

    /// Records item `index` as finished; returns false for a duplicate or unknown item.
    @discardableResult
    mutating func itemFinished(_ index: Int, error: String?, budget: inout TrackingBudget) -> Bool {
        guard index >= 0 else { return false }
        reserve(items: index + 1, chunks: 0, budget: &budget)
        guard !isFinished(index) else { return false }
        if index >> 6 < finishedBits.count { finishedBits[index >> 6] |= 1 << UInt64(index & 63) }
        itemsDone += 1
        itemsInFlight = max(0, itemsInFlight - 1)
        recentCompletions.append(index)
        if let error {
            itemsFailed += 1
            recentFailures.append(index)
            if firstItemError == nil { firstItemError = error }
        }
        if plan.runs.isEmpty && descriptor.itemCount > 0 {
            // A monitor that subscribed after the job was queued saw no `chunksQueued`; the
            // pool cuts a known-length input into equal chunks from the start, so assume that.
            let size = max(1, descriptor.chunksize)
            chunksQueued(firstChunk: 0, chunks: (descriptor.itemCount + size - 1) / size, start: 0, count: descriptor.itemCount)
        }
        guard let chunk = plan.chunk(containing: index), let items = plan.items(ofChunk: chunk) else { return true }
        if items.count == 1, isFinished(index) {
            // A one-item chunk finishes with its item (untracked items fall through to the table).
            chunksDone += 1
            noteHeldBack(items)
            recentChunkCompletions.append(chunk)
            return true
        }
        reserve(items: 0, chunks: chunk + 1, budget: &budget)
        guard chunk < chunkFinished.count else { return true }
        chunkFinished[chunk] = min(Int32(items.count), chunkFinished[chunk] + 1)
        let finished = Int(chunkFinished[chunk])
        if finished == items.count {
            chunksDone += 1
            noteHeldBack(items)
            recentChunkCompletions.append(chunk)
            // Open chunks are the few that workers are in the middle of: a short scan.
            if items.count > 1, let position = openChunks.firstIndex(of: chunk) { openChunks.remove(at: position) }
        } else if finished == 1 {
            openChunk(chunk)
        }
        return true
    }

    /// Records a run of items `start ..< start+count`, finished in order on one worker (schema 2's
    /// `itemsFinished`); the run may span consecutive chunks. Costs O(count / 64) for the finished
    /// bits and O(chunks spanned) otherwise, with at most ``segmentLimit`` chunks credited one by
    /// one (a log's run over billions of one-item chunks is counted in bulk past that): only the
    /// newest few indices of each chunk go into the completion history, which shows no more anyway.
    mutating func itemsFinished(start: Int, count: Int, budget: inout TrackingBudget) {
        guard start >= 0, count > 0, start <= Int.max - count else { return }
        let end = start + count
        reserve(items: end, chunks: 0, budget: &budget)
        if plan.runs.isEmpty && descriptor.itemCount > 0 {
            let size = max(1, descriptor.chunksize)
            chunksQueued(firstChunk: 0, chunks: (descriptor.itemCount + size - 1) / size, start: 0, count: descriptor.itemCount)
        }
        // The chunk table sized once for the whole run, not grown a chunk at a time below
        // (one-item chunks need none).
        if let last = plan.chunk(containing: end - 1), plan.items(ofChunk: last)?.count != 1 {
            reserve(items: 0, chunks: min(last, Self.segmentLimit + (plan.chunk(containing: start) ?? 0)) + 1, budget: &budget)
        }
        var segmentStart = start
        var segments = 0
        while segmentStart < end {
            // Each chunk's part of the run is credited to that chunk.
            segments += 1
            let chunk = segments <= Self.segmentLimit ? plan.chunk(containing: segmentStart) : nil
            let items = chunk.flatMap { plan.items(ofChunk: $0) }
            // Whole small chunks, none of them touched before (a worker of tiny items finishing
            // a run of them): credited together, as the loop would one by one.
            if let chunk, let items, items.lowerBound == segmentStart, !items.isEmpty, items.count <= 256 {
                let size = items.count
                let tableRoom = size == 1 ? Int.max : chunkFinished.count - chunk
                let whole = min((end - segmentStart) / size, Self.segmentLimit - segments + 1, tableRoom)
                if whole >= 2, plan.items(ofChunk: chunk + whole - 1) == (segmentStart + (whole - 1) * size)..<(segmentStart + whole * size),
                   creditUntouchedChunks(first: chunk, count: whole, start: segmentStart, size: size) {
                    segments += whole - 1
                    segmentStart += whole * size
                    continue
                }
            }
            let segmentEnd = items.map { min(end, max($0.upperBound, segmentStart + 1)) } ?? end
            finishSegment(segmentStart..<segmentEnd, chunk: chunk, items: items, budget: &budget)
            segmentStart = segmentEnd
        }
    }

    /// Chunks one `itemsFinished` credits one by one (the engine's runs span a few).
    static let segmentLimit = 4096

    /// Credits `count` whole chunks of `size` items from chunk `first` (items from `start`) at
    /// once, if none of their items was finished before and all are tracked; the same outcome
    /// as ``finishSegment(_:chunk:items:budget:)`` for each in turn, at a fraction of the cost
    /// (the watcher of a pool of tiny items folds one such run per result frame).
    /// - Returns: false, changing nothing, if that does not hold.
    private mutating func creditUntouchedChunks(first: Int, count: Int, start: Int, size: Int) -> Bool {
        let end = start + count * size
        // One-item chunks live in the finished bits alone (see `chunkFinished`).
        guard end <= finishedBits.count << 6, size == 1 || first + count <= chunkFinished.count else { return false }
        if size > 1 {
            for chunk in first..<(first + count) where chunkFinished[chunk] != 0 { return false }
        }
        var index = start
        while index < end {
            let low = index & 63
            let high = min(64, low + (end - index))
            let mask: UInt64 = (high - low == 64) ? ~0 : ((1 << UInt64(high - low)) - 1) << UInt64(low)
            if finishedBits[index >> 6] & mask != 0 { return false }
            index += high - low
        }
        index = start
        while index < end {
            let low = index & 63
            let high = min(64, low + (end - index))
            let mask: UInt64 = (high - low == 64) ? ~0 : ((1 << UInt64(high - low)) - 1) << UInt64(low)
            finishedBits[index >> 6] |= mask
            index += high - low
        }
        let items = end - start
        itemsDone += items
        itemsInFlight = max(0, itemsInFlight - items)
        recentCompletions.append(contentsOf: start..<end)
        if size > 1 {
            for chunk in first..<(first + count) { chunkFinished[chunk] = Int32(size) }
        }
        chunksDone += count
        recentChunkCompletions.append(contentsOf: first..<(first + count))
        return true
    }

    private mutating func finishSegment(_ segment: Range<Int>, chunk: Int?, items: Range<Int>?, budget: inout TrackingBudget) {
        var fresh = 0
        var index = segment.lowerBound
        let end = segment.upperBound
        let tracked = min(end, finishedBits.count << 6)
        // Items past what is tracked one by one are counted as they come.
        if end > tracked { fresh += end - max(index, tracked) }
        while index < tracked {
            let word = index >> 6
            let low = index & 63
            let high = min(64, low + (tracked - index))
            let mask: UInt64 = (high - low == 64) ? ~0 : ((1 << UInt64(high - low)) - 1) << UInt64(low)
            fresh += (mask & ~finishedBits[word]).nonzeroBitCount
            finishedBits[word] |= mask
            index += high - low
        }
        guard fresh > 0 else { return }
        itemsDone += fresh
        itemsInFlight = max(0, itemsInFlight - fresh)
        recentCompletions.append(contentsOf: segment)
        guard let chunk, let items else { return }
        if items.count == 1, tracked == end {
            // Its one item was fresh (`fresh > 0`): a one-item chunk finishes with it.
            chunksDone += 1
            recentChunkCompletions.append(chunk)
            return
        }
        reserve(items: 0, chunks: chunk + 1, budget: &budget)
        guard chunk < chunkFinished.count else { return }
        let before = Int(chunkFinished[chunk])
        let after = min(items.count, before + fresh)
        chunkFinished[chunk] = Int32(after)
        if after == items.count && before < items.count {
            chunksDone += 1
            recentChunkCompletions.append(chunk)
            // Only a chunk finished in parts was opened: one finished at once needs no search.
            if before > 0, let position = openChunks.firstIndex(of: chunk) { openChunks.remove(at: position) }
        } else if before == 0 && after < items.count {
            openChunk(chunk)
        }
    }

    /// Workers are in the middle of a few chunks at a time; a log that opens more without
    /// finishing them must not make the scans above long.
    private mutating func openChunk(_ chunk: Int) {
        if openChunks.count >= 64 { openChunks.removeFirst() }
        openChunks.append(chunk)
    }

    /// A late subscriber's starting point: what the job did before the monitor joined. The
    /// items themselves are not known, only how many.
    mutating func progressBeforeJoining(finished: Int, failed: Int, delivered: Int, chunksDone: Int) {
        let total = max(0, itemCount)
        itemsDone = min(max(0, finished), total)
        itemsFailed = min(max(0, failed), itemsDone)
        itemsDelivered = min(max(0, delivered), total)
        if descriptor.mode == .imap { deliveredPrefix = itemsDelivered }
        self.chunksDone = min(max(0, chunksDone), max(0, chunkCount))
    }

    mutating func resultsDelivered(start: Int, count: Int) {
        guard count > 0 else { return }
        recentDeliveries.append(start..<start + count)
        itemsDelivered += count
        if start <= deliveredPrefix { deliveredPrefix = max(deliveredPrefix, start + count) }
    }

    mutating func completed(at time: UInt64, error: String?) {
        completedAt = time
        completionError = error
        itemsInFlight = 0
    }

    /// Grows the per-item and per-chunk tables to cover `items` and `chunks`, as far as the
    /// monitor's budget allows: a number read from a log can ask for anything, so what it gets
    /// is bounded by a constant, never by the number (past the budget the job still counts its
    /// items, it just cannot say which ones finished).
    ///
    /// The first growth makes room for the whole job its descriptor announces, as far as the
    /// per-job caps and the budget left allow (so the number read can size nothing beyond
    /// them): grown by doubling as results came, the tables were copied into fresh pages a
    /// dozen times, most of the fold's cost in a watched million-chunk job.
    private mutating func reserve(items: Int, chunks: Int, budget: inout TrackingBudget) {
        let words = (min(items, TrackingBudget.itemsPerJob) + 63) >> 6
        if words > finishedBits.count {
            let extra = words - finishedBits.count
            if extra * 64 <= budget.items {
                budget.items -= extra * 64
                if finishedBits.capacity < words {
                    let announced = (min(descriptor.itemCount, TrackingBudget.itemsPerJob) + 63) >> 6
                    finishedBits.reserveCapacity(max(words, min(announced, words + budget.items / 64)))
                }
                finishedBits.append(contentsOf: repeatElement(0, count: extra))
            }
        }
        let wanted = min(chunks, TrackingBudget.chunksPerJob)
        if wanted > chunkFinished.count {
            let extra = wanted - chunkFinished.count
            if extra <= budget.chunks {
                budget.chunks -= extra
                if chunkFinished.capacity < wanted {
                    let size = max(1, descriptor.chunksize)
                    let announced = min(descriptor.itemCount / size + 1, TrackingBudget.chunksPerJob)
                    chunkFinished.reserveCapacity(max(wanted, min(announced, wanted + budget.chunks)))
                }
                chunkFinished.append(contentsOf: repeatElement(0, count: extra))
            }
        }
    }

    /// What this job's tables hold, to give back to the budget when the job is dropped.
    public var trackedCapacity: TrackingBudget { TrackingBudget(items: finishedBits.count * 64, chunks: chunkFinished.count) }
}

/// How many items and chunks one monitor state tracks one by one, over all its jobs (see
/// ``JobProgress``): 64 Mi items (8 MB of bits) and 8 Mi chunks (32 MB of counts).
public struct TrackingBudget: Sendable, Equatable {
    public var items: Int
    public var chunks: Int

    /// No one job tracks more than this many items (16 Mi), or chunks (4 Mi), one by one.
    public static let itemsPerJob = 1 << 24
    public static let chunksPerJob = 1 << 22

    public init(items: Int = 1 << 26, chunks: Int = 1 << 23) {
        self.items = items
        self.chunks = chunks
    }
}
