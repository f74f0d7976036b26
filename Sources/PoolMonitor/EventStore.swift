import ProcessPool

/// Every event of a run, kept so that the monitor can show the pool at any earlier moment:
/// scrollback, rewind and step, the item inspector and the death reports read from here.
///
/// **Memory bound.** At most ``byteBudget`` bytes of events (each counted as its in-line size,
/// `MemoryLayout<PoolEvent>.stride`, plus the bytes of the strings it carries), which is about
/// 2.2 million events of a typical run (112-byte events; measured by `EventStoreMemoryTests`),
/// plus at most ``maxCheckpoints`` copies of ``MonitorState`` within ``checkpointByteBudget``
/// (64 MiB, estimated), and small indexes (an `Int` per scheduling event and output line, 16
/// bytes per tick). Past the budget the oldest events are
/// dropped a checkpoint span at a time (1/16 to 1/32 of the store while checkpoints are few
/// enough; more when the checkpoints' memory has thinned them out), and
/// ``droppedEvents`` says how many, so the screen can say so.
///
/// **Rewind.** Every ``checkpointSpan`` events (a power of two times ``blockSize``) the store
/// keeps the state as it was before that event; the state at event k is the nearest checkpoint
/// at or before k folded forward, which costs at most one span of events (a few thousand
/// microseconds at a million events, see `EventStoreTests`). When there would be more than
/// ``maxCheckpoints`` checkpoints, every other one is let go and the span doubles, so that
/// both the checkpoints' memory and the fold-forward stay bounded at any length.
///
/// Ticks (the app's samples of the sparkline and task streams) are kept too, so that a rewound
/// state has the histories it had then.
public struct EventStore: Sendable {
    /// Events per storage block; checkpoints fall on block boundaries.
    public static let blockSize = 4096
    /// Checkpoints kept at most (the span doubles to stay under).
    public static let maxCheckpoints = 32
    /// The default memory budget for events: 256 MiB.
    public static let defaultByteBudget = 256 << 20
    /// The memory budget for checkpoints: 64 MiB, as ``checkpointCost(_:)`` estimates them (a
    /// state tracking a million-chunk job is several MB: fewer checkpoints, longer spans).
    public static let checkpointByteBudget = 64 << 20

    /// Bytes of events kept at most (see the type's documentation).
    public let byteBudget: Int
    private var blocks: [[PoolEvent]] = []
    /// Bytes each block costs, by block.
    private var blockBytes: [Int] = []
    private var bytes = 0
    /// The absolute index of the first event kept (events before it were dropped).
    public private(set) var firstIndex = 0
    /// The absolute index one past the newest event: every event ever appended counts.
    public private(set) var endIndex = 0
    /// Checkpoints, oldest first: the state before event `index`.
    private var checkpoints: [(index: Int, state: MonitorState, bytes: Int)] = []
    /// What the checkpoints cost, as estimated.
    public private(set) var checkpointBytes = 0
    /// Events between checkpoints (a multiple of ``blockSize``).
    public private(set) var checkpointSpan = EventStore.blockSize
    /// Ticks: how many events had been folded when each was taken, and its time.
    private var ticks: [(afterEvents: Int, time: UInt64)] = []
    private var firstTick = 0
    /// Absolute indexes of the scheduling events (what the pool-events pane lists).
    private var schedulingIndexes: [Int] = []
    private var firstScheduling = 0
    /// Absolute indexes of worker output and fault lines (what the worker-output pane lists).
    private var outputIndexes: [Int] = []
    private var firstOutput = 0

    /// - Parameter byteBudget: bytes of events kept at most (at least one block's worth).
    public init(byteBudget: Int = EventStore.defaultByteBudget) {
        self.byteBudget = max(byteBudget, Self.blockSize * MemoryLayout<PoolEvent>.stride * 4)
    }

    /// Events dropped to stay within the budget (all of them the oldest).
    public var droppedEvents: Int { firstIndex }
    /// Events kept.
    public var count: Int { endIndex - firstIndex }
    /// Checkpoints kept now.
    public var checkpointCount: Int { checkpoints.count }
    /// Bytes of events kept, as the budget counts them.
    public var byteCount: Int { bytes }

    // MARK: recording

    /// Records `event`, which is about to be folded into `stateBefore` (the live state as it is
    /// before the event; kept as a checkpoint when one is due: a copy-on-write copy).
    public mutating func append(_ event: PoolEvent, stateBefore: MonitorState) {
        if endIndex % checkpointSpan == 0 {
            addCheckpoint(at: endIndex, stateBefore)
        } else if endIndex % Self.blockSize == 0 && bytes > byteBudget / 2 && checkpoints.count < 2 {
            // Checkpoints thinned out by their memory: one more, so the oldest events can go.
            addCheckpoint(at: endIndex, stateBefore)
        }
        if endIndex % Self.blockSize == 0 || blocks.isEmpty {
            var block: [PoolEvent] = []
            block.reserveCapacity(Self.blockSize)
            blocks.append(block)
            blockBytes.append(0)
        }
        let cost = Self.cost(of: event)
        blocks[blocks.count - 1].append(event)
        blockBytes[blockBytes.count - 1] += cost
        bytes += cost
        if Self.isScheduling(event.kind) { schedulingIndexes.append(endIndex) }
        if Self.isOutput(event.kind) { outputIndexes.append(endIndex) }
        endIndex += 1
        while bytes > byteBudget && checkpoints.count >= 2 { dropOldestSpan() }
    }

    /// Records a tick taken now (after the events recorded so far).
    public mutating func recordTick(_ time: UInt64) {
        ticks.append((endIndex, time))
    }

    // MARK: reading

    /// The event at absolute index `index` (nil when dropped or not there yet).
    public func event(at index: Int) -> PoolEvent? {
        guard index >= firstIndex, index < endIndex else { return nil }
        let offset = index - firstIndex
        return blocks[offset / Self.blockSize][offset % Self.blockSize]
    }

    /// The state after the first `position` events (clamped to what is kept), with the ticks
    /// taken up to then: the nearest checkpoint folded forward (at most one span of events).
    public func state(after position: Int) -> MonitorState? {
        let position = min(max(position, firstIndex), endIndex)
        guard let checkpoint = checkpointIndex(atOrBefore: position) else { return nil }
        var state = checkpoints[checkpoint].state
        let from = checkpoints[checkpoint].index
        var tick = firstTickIndex(after: from)
        for index in from..<position {
            state.apply(event(at: index)!)
            // Ticks taken after this event and before the next one.
            while tick < ticks.count, ticks[tick].afterEvents <= index + 1 {
                state.tick(now: ticks[tick].time)
                tick += 1
            }
        }
        return state
    }

    /// The time of the last event before `position` (0 when none is kept).
    public func time(before position: Int) -> UInt64 {
        event(at: min(position, endIndex) - 1)?.time ?? 0
    }

    /// The position (events folded) whose last event is at or before `time`: the pool as it was
    /// at `time`. Event times are in order (the engine stamps them as they happen); were they
    /// not, this still returns a position, just not the best one.
    public func position(atTime time: UInt64) -> Int {
        var low = firstIndex, high = endIndex  // answer in low...high
        while low < high {
            let middle = (low + high + 1) / 2
            if event(at: middle - 1)!.time <= time { low = middle } else { high = middle - 1 }
        }
        return max(low, firstIndex)
    }

    /// The position just after the latest chunk dispatch before `position` (or `firstIndex`).
    public func previousDispatch(before position: Int) -> Int {
        var slot = lowerBound(schedulingIndexes, from: firstScheduling, position - 1)
        while slot > firstScheduling {
            slot -= 1
            let index = schedulingIndexes[slot]
            if index < position - 1, event(at: index)?.kind.dispatchedChunks != nil { return index + 1 }
        }
        return firstIndex
    }

    /// The position just after the first chunk dispatch after `position` (or `endIndex`).
    public func nextDispatch(after position: Int) -> Int {
        var slot = lowerBound(schedulingIndexes, from: firstScheduling, position)
        while slot < schedulingIndexes.count {
            let index = schedulingIndexes[slot]
            if event(at: index)?.kind.dispatchedChunks != nil { return index + 1 }
            slot += 1
        }
        return endIndex
    }

    /// How many scheduling events (the pool-events pane's lines) come before `position`.
    public func schedulingCount(before position: Int) -> Int {
        lowerBound(schedulingIndexes, from: firstScheduling, position) - firstScheduling
    }

    /// The `n`-th scheduling event kept (0 = the oldest kept), with its absolute index.
    public func schedulingEvent(_ n: Int) -> (index: Int, event: PoolEvent)? {
        let slot = firstScheduling + n
        guard n >= 0, slot < schedulingIndexes.count, let event = event(at: schedulingIndexes[slot]) else { return nil }
        return (schedulingIndexes[slot], event)
    }

    /// How many output lines come before `position`.
    public func outputCount(before position: Int) -> Int {
        lowerBound(outputIndexes, from: firstOutput, position) - firstOutput
    }

    /// The `n`-th output line kept (0 = the oldest kept).
    public func outputEvent(_ n: Int) -> (index: Int, event: PoolEvent)? {
        let slot = firstOutput + n
        guard n >= 0, slot < outputIndexes.count, let event = event(at: outputIndexes[slot]) else { return nil }
        return (outputIndexes[slot], event)
    }

    /// Calls `body` with each event kept in `range` (absolute indexes, clamped), in order;
    /// `body` returns false to stop.
    public func forEach(in range: Range<Int>, _ body: (Int, PoolEvent) -> Bool) {
        let lower = max(range.lowerBound, firstIndex), upper = min(range.upperBound, endIndex)
        guard lower < upper else { return }
        for index in lower..<upper where !body(index, event(at: index)!) { return }
    }

    // MARK: private

    /// What an event costs the budget: its in-line size and the bytes of its strings.
    static func cost(of event: PoolEvent) -> Int {
        var cost = MemoryLayout<PoolEvent>.stride
        switch event.kind {
        case .workerOutput(_, let line): cost += line.utf8.count
        case .workerFault(_, let message): cost += message.utf8.count
        case .jobSubmitted(let job): cost += job.label.utf8.count + job.function.utf8.count
        case .itemFinished(_, _, _, let error, _), .jobCompleted(_, let error): cost += error?.utf8.count ?? 0
        case .workerExited(_, _, _, _, let details?):
            cost += 64 + details.lastOutput.reduce(0) { $0 + $1.utf8.count } + details.requeued.count * 32
        default: break
        }
        return cost
    }

    static func isScheduling(_ kind: PoolEvent.Kind) -> Bool {
        switch kind {
        case .workerReady, .itemStarted, .itemFinished, .itemsFinished, .workerOutput, .workerFault: false
        default: true
        }
    }

    static func isOutput(_ kind: PoolEvent.Kind) -> Bool {
        switch kind {
        case .workerOutput, .workerFault: true
        default: false
        }
    }

    private mutating func addCheckpoint(at index: Int, _ state: MonitorState) {
        let cost = Self.checkpointCost(state)
        checkpoints.append((index, state, cost))
        checkpointBytes += cost
        // Thin out (every other one goes, the oldest stays) until within count and memory.
        while checkpoints.count > 2
                && (checkpoints.count > Self.maxCheckpoints || checkpointBytes > Self.checkpointByteBudget) {
            checkpointSpan *= 2
            let first = checkpoints[0].index, last = checkpoints[checkpoints.count - 1].index
            checkpoints.removeAll { $0.index != first && $0.index != last && $0.index % checkpointSpan != 0 }
            checkpointBytes = checkpoints.reduce(0) { $0 + $1.bytes }
        }
    }

    /// Roughly what a state kept as a checkpoint costs: its per-job tables and histories (the
    /// bulk; see ``TrackingBudget``), its workers' streams and its log. Counts, not the tables.
    static func checkpointCost(_ state: MonitorState) -> Int {
        var bytes = 4096 + state.log.count * 96 + state.recentEvents.count * MemoryLayout<PoolEvent>.stride
        for worker in state.slots { bytes += 512 + (worker?.stream.count ?? 0) * 16 }
        for job in state.jobs {
            let tracked = job.trackedCapacity
            bytes += 512 + tracked.items / 8 + tracked.chunks * 4
                + (job.recentCompletions.runCount + job.recentChunkCompletions.runCount + job.recentDeliveries.count) * 16
        }
        return bytes
    }

    /// Lets go of the events before the second checkpoint (and the first checkpoint).
    private mutating func dropOldestSpan() {
        let newFirst = checkpoints[1].index
        checkpointBytes -= checkpoints[0].bytes
        checkpoints.removeFirst()
        let dropBlocks = (newFirst - firstIndex) / Self.blockSize
        bytes -= blockBytes.prefix(dropBlocks).reduce(0, +)
        blocks.removeFirst(dropBlocks)
        blockBytes.removeFirst(dropBlocks)
        firstIndex = newFirst
        // Indexes are dropped lazily (a moving start), compacted once half of them are stale.
        firstScheduling = lowerBound(schedulingIndexes, from: firstScheduling, newFirst)
        firstOutput = lowerBound(outputIndexes, from: firstOutput, newFirst)
        while firstTick < ticks.count && ticks[firstTick].afterEvents <= newFirst { firstTick += 1 }
        if firstScheduling > schedulingIndexes.count / 2 {
            schedulingIndexes.removeFirst(firstScheduling)
            firstScheduling = 0
        }
        if firstOutput > outputIndexes.count / 2 {
            outputIndexes.removeFirst(firstOutput)
            firstOutput = 0
        }
        if firstTick > ticks.count / 2 {
            ticks.removeFirst(firstTick)
            firstTick = 0
        }
    }

    private func checkpointIndex(atOrBefore position: Int) -> Int? {
        var low = 0, high = checkpoints.count - 1, found: Int?
        while low <= high {
            let middle = (low + high) / 2
            if checkpoints[middle].index <= position {
                found = middle
                low = middle + 1
            } else {
                high = middle - 1
            }
        }
        return found
    }

    /// The first tick taken after the events before `index` had been folded past it.
    private func firstTickIndex(after index: Int) -> Int {
        var low = firstTick, high = ticks.count
        while low < high {
            let middle = (low + high) / 2
            if ticks[middle].afterEvents <= index { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The first slot at or after `from` whose value is at least `value` (values ascending).
    private func lowerBound(_ values: [Int], from: Int, _ value: Int) -> Int {
        var low = from, high = values.count
        while low < high {
            let middle = (low + high) / 2
            if values[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
