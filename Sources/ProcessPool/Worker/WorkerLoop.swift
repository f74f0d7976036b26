import Glibc

/// The worker's single-threaded serve loop: read chunks, run items, batch results.
///
/// Results travel in `itemResults` frames, each a run of consecutive items of one chunk. The
/// buffer of frames is written when the worker has run everything it was sent, when it fills
/// (``flushSize``), before an item whose start is reported, and once a result has waited
/// ``flushInterval``: with tiny items the parent keeps several chunks ahead of the worker and
/// refills it from these results, so they must not wait for the whole buffer to be run. While an
/// item runs, results older than 0.15 ms (0.8 ms while items are tiny) are written by the
/// ``ResultFlusher`` thread, so a slow item does not hold back the results of the fast ones
/// before it.
struct WorkerLoop {
    let registry: TaskRegistry
    private let inbox = ByteQueue(capacity: 262_144)
    private var out = WireWriter(capacity: 65_536)
    /// One item's encoded result, before it joins `out`.
    private var itemOut = WireWriter(capacity: 256)
    /// Writes results that wait too long behind a slow item (nil if no thread could be had).
    private let flusher = ResultFlusher.start(descriptor: WorkerProcess.resultDescriptor)
    /// The results frame being filled: where it starts in `out`, how many items it holds, and,
    /// once its first item made it a run of same-size successes (`itemResultsUniform`), their
    /// size and total duration.
    private struct OpenBatch {
        let frame: Int
        var count: UInt32 = 0
        var uniformLength: UInt32?
        var nanoseconds: UInt64 = 0
    }
    private var batch: OpenBatch?
    /// Duration of the previous item; after long items, starts are reported (and flushed) at once.
    private var previousItemNanoseconds: UInt64 = .max {
        didSet { longItemsInARow = previousItemNanoseconds >= Self.reportStartsAbove ? longItemsInARow &+ 1 : 0 }
    }
    /// How many items in a row, up to the previous one, took ``reportStartsAbove`` or longer. A
    /// new worker counts as after a long one (as `previousItemNanoseconds` starts at the
    /// maximum), so that a worker of slow items reports its second item's start too.
    private var longItemsInARow = 1
    /// When `out` was last written to the parent.
    private var lastFlush: UInt64 = 0
    /// When the oldest result still in `out` was produced.
    private var pendingSince: UInt64?
    /// Below this previous-item duration, starts are not reported individually: the result
    /// frames (which carry durations) say enough, and a flush per item would cap throughput.
    /// One such item among tiny ones is most often not slow but preempted: in the test suite's
    /// debug build, about one tiny item in 250 (each a start report, a write and a broken batch).
    /// So starts are reported after two such items in a row, or one of ``reportStartAfter``.
    private static let reportStartsAbove: UInt64 = 200_000
    /// After an item this long, the next start is reported whatever came before.
    private static let reportStartAfter: UInt64 = 5_000_000
    /// Even fast items report a start at least this often, so a monitor never sees a stale worker.
    private static let reportInterval: UInt64 = 10_000_000
    /// The longest a result waits in the buffer while more items run. Each write is a result
    /// run for a watcher, and the parent's refill of the worker is a dispatch event: at 50 µs a
    /// watched 1,000,000-item `map_chunk1` made about 2,600 events, at 100 µs 1,950, with the
    /// same throughput watched or not (`poolmon-bench measure map_chunk1`, `map_default`,
    /// `imap_chunk1`, `monitored_socket`, `latency`, interleaved runs).
    private static let flushInterval: UInt64 = 100_000
    /// Results are written once this many bytes are waiting.
    private static let flushSize = 65_536
    /// Items shorter than this are timed in groups of ``timingGroup``: a clock reading costs
    /// about 25 ns here, as much as such an item. Each item of a group is given the group's
    /// average; the group's total is exact, and a group that turns out slow is followed by
    /// items timed one by one again.
    private static let groupTimingBelow: UInt64 = 1_000
    private static let timingGroup = 8
    /// Where in `out` the provisional durations of items not timed yet are (see
    /// ``groupTimingBelow``), and when the last clock reading before them was taken.
    private var untimed: [Int] = []
    private var untimedSince: UInt64 = 0
    /// Untimed items in the open uniform batch (no duration of their own to patch), and the sum
    /// of the provisional durations its total counted for them.
    private var untimedInRun = 0
    private var untimedProvisional: UInt64 = 0

    init(registry: TaskRegistry) { self.registry = registry }

    mutating func run() -> Never {
        while true {
            do {
                try handleBufferedFrames()
            } catch {
                fail("bad command frame: \(error)")
            }
            flush()
            let got = inbox.read(from: WorkerProcess.commandDescriptor)
            if got == 0 { exit(0) }  // the pool closed the pipe: finished
            if got < 0 && errno != EINTR { exit(71) }
        }
    }

    private mutating func handleBufferedFrames() throws {
        while true {
            let frame = try inbox.withUnsafeBytes { raw throws(WireFormatError) in
                try Frame.next(in: raw, at: inbox.head)
            }
            guard let frame else { return }
            try inbox.withUnsafeBytes { raw in
                var reader = WireReader(UnsafeRawBufferPointer(rebasing: raw[frame.body]))
                switch FrameKind(rawValue: frame.kind) {
                case .hello: try handleHello(&reader)
                case .chunk: try handleChunk(&reader)
                default: throw WireFormatError.invalidValue("frame kind \(frame.kind) sent to a worker")
                }
            }
            inbox.consume(upTo: frame.end)
        }
    }

    private mutating func handleHello(_ reader: inout WireReader) throws {
        if try reader.read(UInt8.self) == 1 {
            let name = try reader.read(String.self)
            let argument = reader.readRest()
            guard let body = registry.body(named: name) else {
                initializerFailed("initializer task '\(name)' is not registered in the worker")
            }
            var scratch = WireWriter()
            switch body.run(argument, &scratch) {
            case .success: break
            case .taskFailed(let type, let description): initializerFailed("\(type): \(description)")
            case .argumentUndecodable(let message), .resultUnencodable(let message): initializerFailed(message)
            }
        }
        let start = Frame.begin(.ready, in: &out)
        Frame.end(&out, at: start)
        flush()
    }

    private mutating func handleChunk(_ reader: inout WireReader) throws {
        let job = try reader.read(UInt32.self)
        let start = try reader.read(UInt32.self)
        let count = try reader.read(UInt32.self)
        let careful = try reader.read(UInt8.self) & 1 != 0
        let name = try reader.read(String.self)
        let body = registry.body(named: name)
        // Bound once per command and passed down: read from `self` (or bound with `if let`) in
        // `runItem`, each cost a retain and a release per item.
        let flusher = self.flusher
        // One clock reading per item: an item's end is the next one's start.
        var now = MonotonicClock.nanoseconds()
        for offset in 0..<count {
            let length = Int(try reader.read(UInt32.self))
            let argument = try reader.readRaw(count: length)
            let index = start + offset
            if careful || longItemsInARow >= 2 || previousItemNanoseconds >= Self.reportStartAfter
                || now >= lastFlush &+ Self.reportInterval
            {
                closeBatch()
                let frame = Frame.begin(.itemStarted, in: &out)
                out.write(job)
                out.write(index)
                Frame.end(&out, at: frame)
                flush()
                now = lastFlush
            }
            if batch == nil { openBatch(job: job, start: index) }
            let mayDefer = !careful && previousItemNanoseconds < Self.groupTimingBelow
                && untimed.count + untimedInRun < Self.timingGroup - 1
            now = runItem(job: job, index: index, body: body, name: name, argument: argument, startedAt: now,
                          mayDeferTiming: mayDefer, flusher: flusher)
            if !hasUntimed && (out.count >= Self.flushSize || now &- (pendingSince ?? now) >= Self.flushInterval) {
                closeBatch()
                flush()
                // The next item starts after the write. (`now` left before `lastFlush` once
                // made `now - lastFlush` wrap around: every flush was followed by a needless
                // start report and a second write: 900 of each in a 1,000,000-item `map_chunk1`,
                // and an event per report for a watcher.)
                now = max(now, lastFlush)
            }
        }
        closeBatch()
    }

    private mutating func openBatch(job: UInt32, start: UInt32) {
        let frame = Frame.begin(.itemResults, in: &out)
        out.write(job)
        out.write(start)
        out.write(UInt32(0))  // the count, patched by closeBatch()
        batch = OpenBatch(frame: frame)
    }

    /// Makes the open batch, still empty, a run of successes of `length` bytes each.
    private mutating func makeBatchUniform(length: Int) {
        guard let open = batch, open.count == 0 else { return }
        out.patch(FrameKind.itemResultsUniform.rawValue, at: open.frame + 4)
        out.write(UInt32(length))
        out.write(UInt64(0))  // the total duration, patched by sealBatch()
        batch!.uniformLength = UInt32(length)
    }

    /// Makes the open batch a complete frame as it stands (its count, total and length patched);
    /// more items may extend it afterwards.
    private mutating func sealBatch() {
        guard let open = batch else { return }
        let seal = Self.seal(of: open)
        out.patch(seal.count, at: seal.countAt)
        if let at = seal.nanosecondsAt { out.patch(seal.nanoseconds, at: at) }
        Frame.end(&out, at: open.frame)
    }

    /// Where the open batch's header fields are and what they hold now (its frame's length
    /// aside, which is the rest of `out`): what ``sealBatch()`` writes, or the flusher if it
    /// writes the batch while an item runs.
    private static func seal(of open: OpenBatch) -> BatchSeal {
        BatchSeal(frame: open.frame, countAt: open.frame + Frame.headerSize + 8, count: open.count,
                  nanosecondsAt: open.uniformLength != nil ? open.frame + Frame.headerSize + 16 : nil,
                  nanoseconds: open.nanoseconds)
    }

    private mutating func closeBatch() {
        if hasUntimed { previousItemNanoseconds = settleUntimed(at: MonotonicClock.nanoseconds(), including: 0) }
        sealBatch()
        batch = nil
    }

    /// Runs one item and appends its result to the open batch.
    ///
    /// The task writes its result into `itemOut`, not `out`: while it runs, `out` holds only
    /// complete frames that the ``ResultFlusher`` may write if the item takes long.
    /// - Returns: the time it ended.
    /// - Parameter mayDeferTiming: whether the item may go untimed for now (see
    ///   ``groupTimingBelow``); it is timed anyway if the flusher had to write meanwhile.
    private mutating func runItem(
        job: UInt32, index: UInt32, body: TaskRegistry.RegisteredBody?, name: String, argument: UnsafeRawBufferPointer,
        startedAt: UInt64, mayDeferTiming: Bool, flusher: ResultFlusher?
    ) -> UInt64 {
        let armed: Bool
        if flusher != nil, let since = pendingSince, let open = batch {
            // Hand over the open batch with how to seal it (its header fields, which the flusher
            // fills in only if it writes it: sealing it before every item cost more than the
            // item), or only the frames before it while it is empty.
            let handed = open.count > 0 ? out.count : open.frame
            let seal = open.count > 0 ? Self.seal(of: open) : nil
            // `out` is not touched again until `disarm()`, so its storage stays where it is; the
            // flusher may fill in the batch's header fields there (the storage is this loop's
            // alone: `out` is never copied).
            out.withUnsafeBytes {
                flusher.unsafelyUnwrapped.arm(UnsafeRawBufferPointer(rebasing: $0[..<handed]), since: since, seal: seal)
            }
            armed = handed > 0
        } else {
            armed = false
        }
        itemOut.removeAll()
        var status = ItemStatus.ok
        var failure: (type: String, description: String)?
        if body != nil {
            // `unsafelyUnwrapped` (checked just above): `if let` copied the closure, a retain
            // and a release per item.
            switch body.unsafelyUnwrapped.run(argument, &itemOut) {
            case .success: break
            case .taskFailed(let type, let description):
                status = .taskFailed
                failure = (type, description)
            case .argumentUndecodable(let message):
                status = .argumentUndecodable
                failure = ("ArgumentDecodingError", message)
            case .resultUnencodable(let message):
                status = .resultUnencodable
                failure = ("ResultEncodingError", message)
            }
        } else {
            status = .unknownTask
            failure = ("UnknownTask", "task '\(name)' is not registered in the worker")
        }
        let flusherWrote = armed && flusher.unsafelyUnwrapped.disarm()
        if flusherWrote {
            // The flusher wrote everything before this item (provisional durations included):
            // start afresh with a new batch.
            out.removeAll()
            untimed.removeAll(keepingCapacity: true)
            untimedInRun = 0
            untimedProvisional = 0
            pendingSince = nil
            batch = nil
            openBatch(job: job, start: index)
        }
        // A success of the batch's size, short enough to need no event of its own, joins a run
        // of them (its bytes alone); anything else goes in a general batch (status, duration
        // and length per item). An item that does not fit the open batch is timed at once, so
        // that the items before it are settled in their own batch.
        let length = UInt32(truncatingIfNeeded: itemOut.count)
        let fits: Bool
        if let open = batch, open.count > 0 {
            fits = open.uniformLength.map { failure == nil && $0 == length } ?? (failure != nil)
        } else {
            fits = true
        }
        let end: UInt64
        let elapsed: UInt64
        let deferred = mayDeferTiming && !flusherWrote && fits
        if deferred {
            // Untimed for now: `startedAt` stays the last clock reading, and the duration
            // written is the last average, made exact when the group is timed.
            if untimed.isEmpty && untimedInRun == 0 { untimedSince = startedAt }
            end = startedAt
            elapsed = previousItemNanoseconds
        } else {
            end = MonotonicClock.nanoseconds()
            elapsed = hasUntimed ? settleUntimed(at: end, including: 1) : end &- startedAt
            previousItemNanoseconds = elapsed
        }
        if flusherWrote { lastFlush = end }
        let plain = failure == nil && elapsed < PoolEvent.perItemThreshold && itemOut.count <= Int(UInt32.max)
        if let open = batch, open.count > 0, open.uniformLength.map({ !plain || $0 != length }) ?? plain {
            closeBatch()
            openBatch(job: job, start: index)
        }
        if plain && batch!.count == 0 { makeBatchUniform(length: itemOut.count) }
        if batch!.uniformLength != nil {
            out.writeRaw(itemOut)
            batch!.nanoseconds &+= elapsed
            if deferred {
                untimedInRun += 1
                untimedProvisional &+= elapsed
            }
        } else {
            out.write(status.rawValue)
            if deferred { untimed.append(out.count) }
            out.write(elapsed)
            if let failure {
                out.write(failure.type)
                out.write(failure.description)
            } else {
                out.write(UInt32(itemOut.count))
                out.writeRaw(itemOut)
            }
        }
        batch!.count += 1
        if pendingSince == nil { pendingSince = end }
        return end
    }

    /// Whether some items written to the open batch are not timed yet.
    private var hasUntimed: Bool { !untimed.isEmpty || untimedInRun > 0 }

    /// Times the untimed items (and `more` items not yet written): the time since the last
    /// clock reading, shared equally. Their durations in `out` are patched (general batch) or
    /// the run's total corrected (uniform batch); all of them are in the open batch.
    /// - Returns: the share of each.
    private mutating func settleUntimed(at now: UInt64, including more: Int) -> UInt64 {
        let waiting = untimed.count + untimedInRun
        let share = (now &- untimedSince) / UInt64(max(waiting + more, 1))
        for offset in untimed { out.patch(share, at: offset) }
        if untimedInRun > 0, batch?.uniformLength != nil {
            batch!.nanoseconds = batch!.nanoseconds &- untimedProvisional &+ share &* UInt64(untimedInRun)
        }
        untimed.removeAll(keepingCapacity: true)
        untimedInRun = 0
        untimedProvisional = 0
        return share
    }

    private mutating func flush() {
        if hasUntimed { previousItemNanoseconds = settleUntimed(at: MonotonicClock.nanoseconds(), including: 0) }
        guard !out.isEmpty else { return }
        let ok = out.withUnsafeBytes { WorkerProcess.writeFully(WorkerProcess.resultDescriptor, $0) }
        if !ok { exit(72) }  // the parent is gone
        out.removeAll()
        lastFlush = MonotonicClock.nanoseconds()
        pendingSince = nil
    }

    private mutating func initializerFailed(_ message: String) -> Never {
        let frame = Frame.begin(.initializerFailed, in: &out)
        out.write(message)
        Frame.end(&out, at: frame)
        flush()
        exit(73)
    }

    private func fail(_ message: String) -> Never {
        WorkerProcess.printLine("poolmon worker \(getpid()): \(message)")
        exit(74)
    }
}
