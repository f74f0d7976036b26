/// A job's state on the IO thread: its arguments, the results so far, and what has been delivered.
/// Only the IO thread touches it.
final class JobRecord {
    let descriptor: JobDescriptor
    var id: Int { descriptor.id }
    /// Items per chunk: the descriptor's, until ``PoolCommand/rechunk(job:chunksize:)`` cuts the
    /// queued rest again.
    var chunksize: Int
    /// The arguments of items ``base`` ..< ``itemCount``, as the batches they came in.
    private var arguments: HeldArguments
    var inputComplete: Bool
    var inputError: PoolError?
    let delivery: JobDelivery
    /// A stream job's window onto its lazily read input (`nil`: the input came whole).
    let feed: InputFeed?
    /// The first item whose argument and result are still held: a long stream job lets go of
    /// the items it has delivered (see ``compactIfWorthIt()``), so that its memory follows its
    /// window, not its length. Item numbers stay global everywhere else.
    private(set) var base = 0
    /// The first chunk ``chunkRemaining`` holds.
    private var chunkBase = 0

    private var results: ResultTable
    private(set) var finishedCount = 0
    /// Items that failed (for a late monitor's snapshot).
    private(set) var failedCount = 0
    /// Items handed to the caller so far (for a late monitor's snapshot).
    private(set) var deliveredCount = 0
    /// Chunks whose every item has finished (for a late monitor's snapshot).
    private(set) var chunksDone = 0
    /// Errors by item, kept for in-order delivery by `imap`.
    private var failures: [Int: any Error] = [:]
    private(set) var firstError: (any Error)?
    /// How many workers died while running each item.
    var crashCounts: [Int: Int] = [:]
    /// Deaths while each item was the first unfinished one of a chunk that was not yet run
    /// carefully: not charged (the culprit was unknown), but told in the item's failure, so that
    /// "killed N workers" counts every crash the item took part in.
    var unchargedCrashes: [Int: Int] = [:]
    /// `imap`: the next index to hand to the caller.
    private var nextToDeliver = 0
    /// `imapUnordered`: items not yet finished, per chunk.
    private var chunkRemaining: [Int32] = []
    /// Chunks created so far (original chunk numbering, used in events; a re-cut renumbers
    /// the queued ones from where they started).
    var chunkCount = 0
    /// Each re-cut: from which chunk and item on the job's chunks have which size, oldest
    /// first (one per `]`/`[` press at most), so that a late subscriber's snapshot can say so.
    var recuts: [(firstChunk: Int, start: Int, chunksize: Int)] = []
    /// Whether results were handed to the sink since the last ``commitDeliveries()``.
    private var uncommitted = false
    /// Set when the caller cancelled the job: a dead worker's unfinished items of it are not re-run.
    var isCancelled = false

    /// The stream the results go to (`imap`, `imapUnordered`), held apart from `delivery` so
    /// that handing over a result does not copy (and retain) it out of the enum per item.
    private let sink: (any ResultSink)?
    /// How results are handed over, without the closure or stream `delivery` carries: switching
    /// on `delivery` itself copies (and retains) its payload, and this is asked per result.
    private enum Handover { case whole, ordered, unordered }
    private let handover: Handover
    /// ``base`` plus the items held: kept apart, as reading `items` per result copied it.
    private(set) var itemCount: Int

    init(_ submission: JobSubmission) {
        switch submission.delivery {
        case .whole:
            sink = nil
            handover = .whole
        case .ordered(let stream):
            sink = stream
            handover = .ordered
        case .unordered(let stream):
            sink = stream
            handover = .unordered
        }
        itemCount = submission.items.count
        descriptor = submission.descriptor
        chunksize = submission.descriptor.chunksize
        arguments = HeldArguments(submission.items)
        inputComplete = submission.inputComplete
        delivery = submission.delivery
        feed = submission.feed
        // A `map`'s tables are sized for its whole input at once (its count is known, and its
        // results are all kept to the end); a stream's follow its window.
        let expected = handover == .whole ? submission.descriptor.itemCount : 0
        results = ResultTable(count: submission.items.count, expected: expected)
    }


    /// The encoded arguments of items `start ..< start+count` (still held): the buffer holding
    /// them, and where they are in it. The buffer never changes afterwards, so a command may
    /// write from it later.
    func argumentBytes(start: Int, count: Int) -> (source: WireWriter, range: Range<Int>) {
        arguments.bytes(start: start - base, count: count)
    }
    var isComplete: Bool { inputComplete && finishedCount == itemCount }

    /// Adds items from a lazily consumed input.
    func append(_ more: EncodedItems) {
        arguments.append(more)
        itemCount += more.count
        results.grow(by: more.count)
    }

    /// Numbers the chunks covering items `from ..< itemCount` (the job's chunksize each, the last
    /// one possibly shorter).
    /// - Returns: the first new chunk number and how many there are.
    func addChunks(from first: Int) -> (firstChunk: Int, chunks: Int) {
        let firstChunk = chunkCount
        var start = first
        while start < itemCount {
            let count = min(chunksize, itemCount - start)
            if handover == .unordered { chunkRemaining.append(Int32(count)) }
            chunkCount += 1
            start += count
        }
        return (firstChunk, chunkCount - firstChunk)
    }

    /// Records a success; returns false if the item had already finished (a duplicate).
    func recordSuccess(_ index: Int, _ raw: UnsafeRawBufferPointer) -> Bool {
        guard results.recordSuccess(index - base, raw) else { return false }
        finishedCount += 1
        return true
    }

    /// Records `count` successes from `start` on, `length` bytes each, back to back in `raw`.
    /// - Returns: false, recording nothing, if any of them had already finished (a duplicate:
    ///   the caller records them one by one).
    func recordSuccesses(start: Int, count: Int, length: Int, _ raw: UnsafeRawBufferPointer) -> Bool {
        guard results.recordSuccesses(start: start - base, count: count, length: length, raw) else { return false }
        finishedCount += count
        return true
    }

    /// Whether results go to a stream in input order (`imap`) or all at once at the end (`map`).
    var handsOverInOrder: Bool { handover == .ordered }
    var handsOverWhole: Bool { handover == .whole }

    /// Records a failure; returns false if the item had already finished.
    func recordFailure(_ index: Int, _ error: any Error) -> Bool {
        guard results.recordFailure(index - base) else { return false }
        finishedCount += 1
        failedCount += 1
        if firstError == nil { firstError = error }
        if handover != .whole { failures[index] = error }
        return true
    }

    /// Counts chunks all of whose items have finished.
    func chunksFinished(_ count: Int) { chunksDone += count }

    /// Hands whatever became deliverable after `index` finished to the caller's sink; the
    /// caller sees it at the next ``commitDeliveries()`` (one per batch of results).
    /// - Returns: the delivered range `(start, count)`, if any.
    func deliver(after index: Int) -> (start: Int, count: Int)? {
        switch handover {
        case .whole:
            return nil
        case .ordered:
            let start = nextToDeliver
            while nextToDeliver < itemCount && results.isFinished(nextToDeliver - base) {
                hand(nextToDeliver)
                nextToDeliver += 1
            }
            deliveredCount += nextToDeliver - start
            return nextToDeliver > start ? (start, nextToDeliver - start) : nil
        case .unordered:
            let chunk = index / chunksize
            chunkRemaining[chunk - chunkBase] -= 1
            guard chunkRemaining[chunk - chunkBase] == 0 else { return nil }
            let start = chunk * chunksize
            let count = min(chunksize, itemCount - start)
            for i in start..<(start + count) { hand(i) }
            deliveredCount += count
            return (start, count)
        }
    }

    /// Publishes to the caller what ``deliver(after:)`` handed over since the last commit.
    func commitDeliveries() {
        guard uncommitted else { return }
        uncommitted = false
        sink?.commit()
    }

    private func hand(_ index: Int) {
        guard let sink else { return }
        uncommitted = true
        if results.status[index - base] == ResultTable.succeeded {
            sink.deliver(results.resultBytes(index - base))
        } else if let error = failures.removeValue(forKey: index) {
            sink.deliver(failure: error)
        }
    }

    /// Lets go of the arguments and results of the items already delivered, once they are many
    /// (a stream job reading its input lazily: see ``InputFeed``). Amortised: it copies what
    /// remains only when at least as much is dropped, so each item is copied about once.
    func compactIfWorthIt() {
        let low: Int
        switch delivery {
        case .whole: return
        case .ordered: low = nextToDeliver
        case .unordered:
            // Chunks are delivered in any order: only a prefix of fully delivered ones can go.
            var chunk = 0
            while chunk < chunkRemaining.count && chunkRemaining[chunk] == 0 { chunk += 1 }
            low = min(itemCount, (chunkBase + chunk) * chunksize)
        }
        let drop = low - base
        guard drop >= 4096 && drop >= itemCount - low else { return }
        arguments = arguments.suffix(from: drop)
        results = results.suffix(from: drop)
        if case .unordered = delivery {
            let chunks = (low / chunksize) - chunkBase
            chunkRemaining.removeFirst(chunks)
            chunkBase += chunks
        }
        base = low
        crashCounts = crashCounts.filter { $0.key >= low }
    }

    /// Completes the job: hands over every result (`map`) or ends the stream (`imap`).
    /// - Returns: the range delivered now, if any.
    func complete() -> (start: Int, count: Int)? {
        feed?.stop()
        switch delivery {
        case .whole(let finish):
            finish(JobResults(table: results, firstError: firstError))
            deliveredCount = itemCount
            return itemCount > 0 ? (0, itemCount) : nil
        case .ordered(let sink), .unordered(let sink):
            if let inputError { sink.deliver(failure: inputError) }
            sink.finish()
            return nil
        }
    }

    /// Fails the job as a whole (the pool was terminated or broke): every waiter gets `error`.
    func abort(_ error: any Error) {
        feed?.stop()
        switch delivery {
        case .whole(let finish):
            finish(JobResults(table: ResultTable(count: 0), firstError: error))
        case .ordered(let sink), .unordered(let sink):
            sink.deliver(failure: error)
            sink.finish()
        }
    }
}
