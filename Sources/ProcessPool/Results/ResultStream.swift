import DequeModule
import Foundation

/// The results of `imap` or `imapUnordered`, as they become available: an `AsyncSequence`, and
/// also a blocking iterator with a timeout (Python's `IMapIterator.next(timeout)`).
///
/// `imap` yields in input order, each result as soon as it and all before it are done;
/// `imapUnordered` yields a chunk's results as soon as that chunk is done. A failed item throws
/// its error at its position; the async iterator then ends, while ``next(timeout:)`` may be called
/// again to go on past it, as Python allows.
///
/// A stream has one consumer. Cancelling the task that iterates it, dropping its iterator before
/// the end (a `break` out of `for try await`), or calling ``cancel()`` cancels the job: its
/// queued chunks are dropped and the stream ends with `CancellationError`. A second iterator
/// throws ``PoolError/Code/misuse`` instead of competing for the results.
public final class ResultStream<Element: Sendable>: AsyncSequence, @unchecked Sendable {
    // Safe to share: `buffer`, `finished`, `cancelled`, `hasConsumer`, `feeder` and `waiter` are
    // only touched while `condition` is locked. `pending` is touched only by the pool's IO thread
    // (the sole producer), between `deliver` and `commit`.
    private let condition = NSCondition()
    private var buffer = Deque<Result<Element, any Error>>()
    private var finished = false
    private var cancelled = false
    private var hasConsumer = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var pending: [Result<Element, any Error>] = []
    /// The task reading a lazy input, cancelled with the job.
    private var feeder: Task<Void, Never>?
    /// The window onto a lazily read input: told of every result the consumer takes.
    private var feed: InputFeed?
    private let decode: @Sendable (inout WireReader) throws -> Element
    /// Makes an element of an item's error (streams of `Result`s); `nil`: the error is thrown.
    private let failureElement: (@Sendable (any Error) -> Element)?
    /// Maps an error as it arrives (a registered error type comes back as itself).
    private let mapError: @Sendable (any Error) -> any Error
    /// Asks the pool to drop the job's queued work.
    private let cancelJob: @Sendable () -> Void

    init(decode: @escaping @Sendable (inout WireReader) throws -> Element,
         failureElement: (@Sendable (any Error) -> Element)? = nil,
         mapError: @escaping @Sendable (any Error) -> any Error = { $0 },
         cancelJob: @escaping @Sendable () -> Void = {}) {
        self.decode = decode
        self.failureElement = failureElement
        self.mapError = mapError
        self.cancelJob = cancelJob
    }

    /// Blocks for the next result.
    /// - Returns: the next result, or `nil` after the last one.
    /// - Throws: the item's error, `CancellationError` once the stream was cancelled, or
    ///   ``PoolError/Code/timeout`` if none arrives within `timeout`.
    public func next(timeout: Duration? = nil) throws -> Element? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = timeout.map { Date().addingTimeInterval($0.seconds) }
        while buffer.isEmpty && !finished {
            if let deadline {
                if !condition.wait(until: deadline) && buffer.isEmpty && !finished {
                    throw PoolError(.timeout, "no result within \(timeout!)")
                }
            } else {
                condition.wait()
            }
        }
        guard let first = buffer.popFirst() else { return nil }
        feed?.consumed(1)
        return try first.get()
    }

    /// Cancels the job: its chunks still in the queue are dropped at once, results not yet read
    /// are discarded, and the stream ends with `CancellationError`. Items already running in a
    /// worker finish there; their results are discarded. Other jobs are untouched. Does nothing
    /// once the job has finished.
    public func cancel() {
        condition.lock()
        guard !finished else {
            condition.unlock()
            return
        }
        finished = true
        cancelled = true
        buffer.removeAll()
        buffer.append(.failure(CancellationError()))
        let resume = waiter
        waiter = nil
        let input = feeder
        feeder = nil
        let window = feed
        condition.broadcast()
        condition.unlock()
        resume?.resume()
        // The pool hears of the cancellation before the feeder can stop and say "end of input":
        // the other way round, a job whose items were all done would complete as if read to
        // its end, and the monitor would never see it cancelled.
        cancelJob()
        window?.stop()
        input?.cancel()
    }

    /// Whether the stream was cancelled (a lazy input's feeder stops reading).
    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Remembers the window onto a lazy input, to open it as results are taken.
    func attachFeed(_ window: InputFeed) {
        condition.lock()
        feed = window
        condition.unlock()
    }

    /// Remembers the task feeding a lazy input, to cancel it with the job.
    func attachFeeder(_ task: Task<Void, Never>) {
        condition.lock()
        let already = cancelled
        if !already { feeder = task }
        condition.unlock()
        if already { task.cancel() }
    }

    /// Waits for the next result without blocking a thread; `nil` after the last one. A
    /// cancelled task cancels the stream.
    func nextAsync() async throws -> Element? {
        if Task.isCancelled { cancel() }
        while true {
            switch take() {
            case .element(let result): return try result.get()
            case .end: return nil
            case .empty:
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        park(continuation)
                    }
                } onCancel: {
                    self.cancel()
                }
            }
        }
    }

    private enum Take {
        case element(Result<Element, any Error>)
        case end
        case empty
    }

    private func take() -> Take {
        condition.lock()
        if let first = buffer.popFirst() {
            let window = feed
            condition.unlock()
            window?.consumed(1)
            return .element(first)
        }
        defer { condition.unlock() }
        return finished ? .end : .empty
    }

    /// Registers the consumer's continuation, or resumes it at once if something arrived since
    /// ``take()`` looked.
    private func park(_ continuation: CheckedContinuation<Void, Never>) {
        condition.lock()
        if buffer.isEmpty && !finished {
            waiter = continuation
            condition.unlock()
        } else {
            condition.unlock()
            continuation.resume()
        }
    }

    /// Collects every remaining result into an array, in the order they are yielded.
    /// - Throws: the first item's error, `CancellationError` if the task is cancelled, or
    ///   ``PoolError/Code/misuse`` if the stream already has a consumer.
    public func collect() async throws -> [Element] {
        var all: [Element] = []
        for try await element in self { all.append(element) }
        return all
    }

    /// The stream's one consumer. Dropping it before the stream's end cancels the job.
    final class Consumer {
        let stream: ResultStream
        init(_ stream: ResultStream) { self.stream = stream }
        deinit { stream.cancel() }
    }

    /// Iterates the results; see ``ResultStream`` for cancellation and the one-consumer rule.
    public struct AsyncIterator: AsyncIteratorProtocol {
        /// `nil` for a second consumer, which is refused.
        let consumer: Consumer?
        var done = false

        /// The next result, `nil` after the last one.
        /// - Throws: the item's error, `CancellationError`, or ``PoolError/Code/misuse`` for a
        ///   second consumer.
        public mutating func next() async throws -> Element? {
            guard !done else { return nil }
            guard let consumer else {
                done = true
                throw PoolError(.misuse, "this ResultStream already has a consumer: the results of a stream go to one "
                    + "iterator only (collect them into an array, or submit the job again, to read them twice)")
            }
            do {
                let element = try await consumer.stream.nextAsync()
                if element == nil { done = true }
                return element
            } catch {
                done = true
                throw error
            }
        }
    }

    /// The stream's iterator. The first call gets the results; later ones get an iterator that
    /// throws ``PoolError/Code/misuse``.
    public func makeAsyncIterator() -> AsyncIterator {
        condition.lock()
        let first = !hasConsumer
        hasConsumer = true
        condition.unlock()
        return AsyncIterator(consumer: first ? Consumer(self) : nil)
    }

    // MARK: producer side (the pool's IO thread)

    func deliver(_ raw: UnsafeRawBufferPointer) {
        var reader = WireReader(raw)
        do {
            pending.append(.success(try decode(&reader)))
        } catch {
            pending.append(.failure(PoolError(.encoding, "could not decode a result: \(error)")))
        }
    }

    func deliver(failure: any Error) {
        let error = mapError(failure)
        if let failureElement, !(error is CancellationError) {
            pending.append(.success(failureElement(error)))
        } else {
            pending.append(.failure(error))
        }
    }

    /// Publishes what was delivered since the last commit (nothing, once cancelled).
    func commit() {
        guard !pending.isEmpty else { return }
        condition.lock()
        if !cancelled { buffer.append(contentsOf: pending) }
        let resume = waiter
        waiter = nil
        condition.broadcast()
        condition.unlock()
        pending.removeAll(keepingCapacity: true)
        resume?.resume()
    }

    /// Ends the stream after the results already delivered.
    func finish() {
        commit()
        condition.lock()
        finished = true
        feeder = nil
        let resume = waiter
        waiter = nil
        condition.broadcast()
        condition.unlock()
        resume?.resume()
    }
}
