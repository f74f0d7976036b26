/// A job's state on the IO thread: its arguments, the results so far, and what has been delivered.
/// Only the IO thread touches it.
final class JobRecord {
    let descriptor: JobDescriptor
    var id: Int { descriptor.id }
    var chunksize: Int { descriptor.chunksize }
    var items: EncodedItems
    var inputComplete: Bool
    var inputError: PoolError?
    let delivery: JobDelivery

    /// Per item: 0 pending, 1 succeeded, 2 failed.
    private(set) var status: [UInt8]
    private(set) var finishedCount = 0
    private var resultArena: [UInt8] = []
    private var resultStarts: [Int]
    private var resultLengths: [Int32]
    /// Errors by item, kept for in-order delivery by `imap`.
    private var failures: [Int: any Error] = [:]
    private(set) var firstError: (any Error)?
    /// How many workers died while running each item.
    var crashCounts: [Int: Int] = [:]
    /// `imap`: the next index to hand to the caller.
    private var nextToDeliver = 0
    /// `imapUnordered`: items not yet finished, per chunk.
    private var chunkRemaining: [Int32] = []
    /// Chunks created so far (original chunk numbering, used in events).
    private(set) var chunkCount = 0

    init(_ submission: JobSubmission) {
        descriptor = submission.descriptor
        items = submission.items
        inputComplete = submission.inputComplete
        delivery = submission.delivery
        let n = submission.items.count
        status = [UInt8](repeating: 0, count: n)
        resultStarts = [Int](repeating: 0, count: n)
        resultLengths = [Int32](repeating: 0, count: n)
    }

    var itemCount: Int { items.count }
    var isComplete: Bool { inputComplete && finishedCount == itemCount }

    /// Adds items from a lazily consumed input.
    func append(_ more: EncodedItems) {
        items.append(contentsOf: more)
        status.append(contentsOf: repeatElement(0, count: more.count))
        resultStarts.append(contentsOf: repeatElement(0, count: more.count))
        resultLengths.append(contentsOf: repeatElement(0, count: more.count))
    }

    /// Numbers the chunks covering items `from ..< itemCount` (the job's chunksize each, the last
    /// one possibly shorter).
    /// - Returns: the first new chunk number and how many there are.
    func addChunks(from first: Int) -> (firstChunk: Int, chunks: Int) {
        let firstChunk = chunkCount
        var start = first
        while start < itemCount {
            let count = min(chunksize, itemCount - start)
            if case .unordered = delivery { chunkRemaining.append(Int32(count)) }
            chunkCount += 1
            start += count
        }
        return (firstChunk, chunkCount - firstChunk)
    }

    /// Records a success; returns false if the item had already finished (a duplicate).
    func recordSuccess(_ index: Int, _ raw: UnsafeRawBufferPointer) -> Bool {
        guard status[index] == 0 else { return false }
        status[index] = 1
        resultStarts[index] = resultArena.count
        resultLengths[index] = Int32(raw.count)
        resultArena.append(contentsOf: raw)
        finishedCount += 1
        return true
    }

    /// Records a failure; returns false if the item had already finished.
    func recordFailure(_ index: Int, _ error: any Error) -> Bool {
        guard status[index] == 0 else { return false }
        status[index] = 2
        if firstError == nil { firstError = error }
        if case .whole = delivery {} else { failures[index] = error }
        finishedCount += 1
        return true
    }

    /// Hands whatever became deliverable after `index` finished to the caller.
    /// - Returns: the delivered range `(start, count)`, if any.
    func deliver(after index: Int) -> (start: Int, count: Int)? {
        switch delivery {
        case .whole:
            return nil
        case .ordered(let sink):
            let start = nextToDeliver
            while nextToDeliver < itemCount && status[nextToDeliver] != 0 {
                hand(nextToDeliver, to: sink)
                nextToDeliver += 1
            }
            sink.commit()
            return nextToDeliver > start ? (start, nextToDeliver - start) : nil
        case .unordered(let sink):
            let chunk = index / chunksize
            chunkRemaining[chunk] -= 1
            guard chunkRemaining[chunk] == 0 else { return nil }
            let start = chunk * chunksize
            let count = min(chunksize, itemCount - start)
            for i in start..<(start + count) { hand(i, to: sink) }
            sink.commit()
            return (start, count)
        }
    }

    private func hand(_ index: Int, to sink: any ResultSink) {
        if status[index] == 1 {
            let start = resultStarts[index]
            resultArena.withUnsafeBytes { raw in
                sink.deliver(UnsafeRawBufferPointer(rebasing: raw[start..<(start + Int(resultLengths[index]))]))
            }
        } else if let error = failures.removeValue(forKey: index) {
            sink.deliver(failure: error)
        }
    }

    /// Completes the job: hands over every result (`map`) or ends the stream (`imap`).
    /// - Returns: the range delivered now, if any.
    func complete() -> (start: Int, count: Int)? {
        switch delivery {
        case .whole(let finish):
            finish(JobResults(arena: resultArena, starts: resultStarts, lengths: resultLengths, firstError: firstError))
            return itemCount > 0 ? (0, itemCount) : nil
        case .ordered(let sink), .unordered(let sink):
            if let inputError { sink.deliver(failure: inputError) }
            sink.finish()
            return nil
        }
    }

    /// Fails the job as a whole (the pool was terminated or broke): every waiter gets `error`.
    func abort(_ error: any Error) {
        switch delivery {
        case .whole(let finish):
            finish(JobResults(arena: [], starts: [], lengths: [], firstError: error))
        case .ordered(let sink), .unordered(let sink):
            sink.deliver(failure: error)
            sink.finish()
        }
    }
}
