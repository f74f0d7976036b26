import Dispatch
import Synchronization

/// Encoded task arguments: `UInt32 length` + bytes for each item, back to back, so that the items
/// of a chunk are one contiguous slice that goes into the chunk frame with a single copy.
struct EncodedItems: Sendable {
    var bytes = WireWriter()
    /// `offsets[i]` is where item `i` starts; `offsets[count]` is the end.
    var offsets = ItemOffsets()

    var count: Int { offsets.count }

    init() {}

    /// Encodes `items` with `encode`.
    /// - Throws: ``PoolError/Code/encoding`` naming the first item that cannot be encoded.
    init<S: Sequence>(_ items: S, task: String, startingAt firstIndex: Int = 0,
                      encode: (S.Element, inout WireWriter) throws -> Void) throws {
        var writer = WireWriter()
        var offsets = ItemOffsets()
        let expected = items.underestimatedCount
        // A plain loop with a counter: `enumerated()` in this unspecialized generic code looked up
        // the metadata of its element tuple on every item, which was most of the encoding time.
        var index = firstIndex
        for item in items {
            let lengthAt = writer.count
            writer.write(UInt32(0))
            do {
                try encode(item, &writer)
            } catch {
                throw PoolError(.encoding, "argument \(index) of task '\(task)' cannot be encoded: \(error)")
            }
            writer.patch(UInt32(writer.count - lengthAt - 4), at: lengthAt)
            offsets.append(end: writer.count)
            if index == firstIndex && writer.count <= 256 && expected > 1 {
                // Small arguments are usually all the same size: size the buffer for all of them
                // from the first, rather than doubling (and copying) it a dozen times.
                writer.reserveCapacity(writer.count * expected)
            }
            index += 1
        }
        bytes = writer
        self.offsets = offsets
    }

    /// Encodes a contiguous run of arguments with the task's batch encoder (specialized for
    /// their type: see ``PoolTask/encodeArguments``).
    /// - Throws: ``PoolError/Code/encoding`` naming the first item that cannot be encoded.
    init<A: Sendable, R: Sendable>(_ items: UnsafeBufferPointer<A>, task: PoolTask<A, R>, startingAt firstIndex: Int = 0) throws {
        var offsets = ItemOffsets()
        do {
            try task.encodeArguments(items, &bytes, &offsets)
        } catch let failure as ArgumentEncodingFailure {
            throw PoolError(.encoding, "argument \(firstIndex + failure.position) of task '\(task.name)' cannot be encoded: \(failure.underlying)")
        }
        self.offsets = offsets
    }

    /// Encodes `items`, through the batch encoder when they are contiguous in memory.
    init<S: Sequence, R: Sendable>(_ items: S, task: PoolTask<S.Element, R>, startingAt firstIndex: Int = 0) throws {
        if let encoded = try items.withContiguousStorageIfAvailable({ try EncodedItems($0, task: task, startingAt: firstIndex) }) {
            self = encoded
        } else {
            try self.init(items, task: task.name, startingAt: firstIndex, encode: task.encodeArgument)
        }
    }

    /// Encodes one more item at the end.
    /// - Throws: ``PoolError/Code/encoding`` naming the item (`index`, its place in the input).
    mutating func append<T>(_ item: T, index: Int, task: String, encode: (T, inout WireWriter) throws -> Void) throws {
        let lengthAt = bytes.count
        bytes.write(UInt32(0))
        do {
            try encode(item, &bytes)
        } catch {
            bytes.truncate(to: lengthAt)
            throw PoolError(.encoding, "argument \(index) of task '\(task)' cannot be encoded: \(error)")
        }
        bytes.patch(UInt32(bytes.count - lengthAt - 4), at: lengthAt)
        offsets.append(end: bytes.count)
    }

    /// Drops every item, keeping the storage for the next batch.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        offsets.removeAll()
    }

    /// The items from `first` on (a long stream job lets go of the ones it has delivered).
    func suffix(from first: Int) -> EncodedItems {
        var rest = EncodedItems()
        let base = offsets[first]
        bytes.withUnsafeBytes { rest.bytes.writeRaw(UnsafeRawBufferPointer(rebasing: $0[base...])) }
        rest.offsets = offsets.suffix(from: first)
        return rest
    }

    mutating func append(contentsOf other: EncodedItems) {
        let base = bytes.count
        bytes.writeRaw(other.bytes)
        offsets.append(contentsOf: other.offsets, at: base)
    }

    /// The byte range holding items `start ..< start+count`.
    func byteRange(start: Int, count: Int) -> Range<Int> { offsets[start]..<offsets[start + count] }
}

/// All results of a finished `map`/`apply` job, read on the IO thread by the job's completion.
struct JobResults {
    let table: ResultTable
    /// The first failure to arrive, if any: the job's error.
    let firstError: (any Error)?

    var count: Int { table.count }

    /// Decodes every result in input order with the task's batch decoder (specialized for the
    /// result type: see ``PoolTask/decodeResults``), a large job's in parts on several threads.
    ///
    /// Why threads: this runs when the job ends, on the IO thread, with the workers idle. A
    /// plain `Codable` result costs a few hundred nanoseconds to decode, so a million of them on
    /// one thread were a tail of half a second; even a `WireCodable` number, a few nanoseconds,
    /// made a million-item `map` end with milliseconds of one core working and the other idle.
    func decodeAll<A, R>(_ task: PoolTask<A, R>) throws -> [R] {
        let count = table.count
        guard count > 0 else { return [] }
        let perPart = task.decodesInParts ? Self.itemsPerPart : Self.cheapItemsPerPart
        let parts = max(1, min(ProcessPool.usableCPUCount, count / perPart))
        let table = table
        let dense = table.denseResults
        let all = EncodedResults(count: count, dense: dense?.base, stride: dense?.stride ?? 0,
                                 lookup: { table.resultBytes($0) })
        return try [R](unsafeUninitializedCapacity: count) { buffer, initialized in
            let base = buffer.baseAddress!
            guard parts > 1 else {
                try task.decodeResults(all, base)
                initialized = count
                return
            }
            let outcomes = DecodeParts(results: all, base: base, parts: parts, decode: task.decodeResults)
            DispatchQueue.concurrentPerform(iterations: parts) { part in outcomes.run(part) }
            // A part that failed left nothing initialized; undo the others.
            if let error = outcomes.firstError {
                for part in 0..<parts where outcomes.succeeded(part) {
                    let range = (count * part / parts)..<(count * (part + 1) / parts)
                    (base + range.lowerBound).deinitialize(count: range.count)
                }
                throw error
            }
            initialized = count
        }
    }

    /// Below this many results per thread, decoding plain `Codable` on one thread is as fast.
    static let itemsPerPart = 20_000
    /// The same for results that decode in nanoseconds (`WireCodable`): a thread's start-up
    /// costs more than a few thousand of them.
    static let cheapItemsPerPart = 200_000
}

/// The parts of ``JobResults/decodeAll(_:)``, each decoding a range of results on a thread of
/// its own, and how each ended.
// @unchecked Sendable: `results` is only read, and nothing writes the table behind it meanwhile
// (its job has ended, and the IO thread, its only writer, is inside this call); each part
// initializes only the values of its own range and writes only its own entry of `failed` (read
// after `concurrentPerform` returns, which waits for every part); `errors` is behind a lock.
private final class DecodeParts<R>: @unchecked Sendable {
    private let results: EncodedResults
    private let base: UnsafeMutablePointer<R>
    private let parts: Int
    private let decode: @Sendable (EncodedResults, UnsafeMutablePointer<R>) throws -> Void
    private let failed: UnsafeMutablePointer<Bool>
    private let errors = Mutex<[(part: Int, error: any Error)]>([])

    init(results: EncodedResults, base: UnsafeMutablePointer<R>, parts: Int,
         decode: @escaping @Sendable (EncodedResults, UnsafeMutablePointer<R>) throws -> Void) {
        self.results = results
        self.base = base
        self.parts = parts
        self.decode = decode
        failed = .allocate(capacity: parts)
        failed.initialize(repeating: false, count: parts)
    }

    deinit { failed.deallocate() }

    /// Decodes part `part`'s range: all of it, or (on a throw, recorded) none.
    func run(_ part: Int) {
        let count = results.count
        let range = (count * part / parts)..<(count * (part + 1) / parts)
        do {
            try decode(results.slice(range), base + range.lowerBound)
        } catch {
            failed[part] = true
            errors.withLock { $0.append((part, error)) }
        }
    }

    func succeeded(_ part: Int) -> Bool { !failed[part] }

    /// The error of the earliest part that failed (the first failing item in input order).
    var firstError: (any Error)? { errors.withLock { $0.min { $0.part < $1.part }?.error } }
}

/// How a job hands its results to the caller.
enum JobDelivery: Sendable {
    /// All at once when every item is done (`apply`, `map`, `starmap`); called on the IO thread.
    case whole(@Sendable (JobResults) -> Void)
    /// One by one in input order (`imap`).
    case ordered(any ResultSink)
    /// A chunk at a time in completion order (`imapUnordered`).
    case unordered(any ResultSink)
}

/// The producer side of a ``ResultStream``, with its element type erased.
protocol ResultSink: AnyObject, Sendable {
    func deliver(_ raw: UnsafeRawBufferPointer)
    func deliver(failure: any Error)
    func commit()
    func finish()
}

extension ResultStream: ResultSink {}

/// A job as the caller hands it to the IO thread.
struct JobSubmission: Sendable {
    var descriptor: JobDescriptor
    var items: EncodedItems
    /// False while a lazily consumed input may still add items (``PoolCommand/inputAvailable(job:)``).
    var inputComplete: Bool
    var delivery: JobDelivery
    /// The window of a stream job whose input is still being read (see ``InputFeed``).
    var feed: InputFeed? = nil
}

/// What API calls ask of the IO thread.
enum PoolCommand: Sendable {
    case submit(JobSubmission)
    /// A stream job's ``InputFeed`` holds items: take them.
    case inputAvailable(job: Int)
    case endInput(job: Int, error: PoolError?)
    /// Cancel a job: drop its queued chunks and end it with `CancellationError` (its items
    /// already at a worker finish there; their results are discarded).
    case cancelJob(Int)
    case resize(Int)
    /// Announce a new ``ProcessPool/chunksizeOverride`` (already stored in ``PoolShared``).
    case chunksizeChanged(Int?)
    /// Cut the queued, not yet dispatched items of a job again into chunks of `chunksize`.
    case rechunk(job: Int, chunksize: Int)
    /// Send a signal to the worker with this PID, if it is one of ours; the outcome goes to `reply`.
    case signalWorker(pid: Int32, signal: Int32, reply: CommandReply)
    /// Start sending events to a subscriber created by ``EventHub/subscribe(bufferingLimit:)``.
    case activateSubscriber(Int)
    case close
    case terminate
}
