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
    // Safe to share: `buffer`, `head`, `finished`, `cancelled`, `cancellationReported`,
    // `hasConsumer`, `feeder` and `waiter` are only touched while `condition` is locked.
    // `pending` is touched only by the pool's IO thread (the sole producer), between `deliver`
    // and `commit`. `decode`, `failureElement`, `mapError` and `cancelJob` never change.
    private let condition = NSCondition()
    /// Results published to the consumer; those before `head` were taken one at a time by
    /// ``next(timeout:)``.
    private var buffer = StreamResults()
    private var head = 0
    private var finished = false
    private var cancelled = false
    /// Whether a consumer was told of the cancellation (it is thrown once, then the stream ends).
    private var cancellationReported = false
    private var hasConsumer = false
    private var waiter: CheckedContinuation<Void, Never>?
    /// Results delivered and not yet committed, behind a pointer: a class's stored `var` is
    /// checked for exclusive access at run time on every use, and this one is used per result.
    private let pending: UnsafeMutablePointer<StreamResults> = {
        let pointer = UnsafeMutablePointer<StreamResults>.allocate(capacity: 1)
        pointer.initialize(to: StreamResults())
        return pointer
    }()
    /// The task reading a lazy input, cancelled with the job.
    private var feeder: Task<Void, Never>?
    /// The window onto a lazily read input: told of every result the consumer takes.
    private var feed: InputFeed?
    @usableFromInline let decode: @Sendable (inout WireReader) throws -> Element
    /// Makes an element of an item's error (streams of `Result`s); `nil`: the error is thrown.
    @usableFromInline let failureElement: (@Sendable (any Error) -> Element)?
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

    /// The element `result` stands for, or the error to throw.
    @inlinable
    func element(_ result: Result<Element, any Error>) throws -> Element {
        switch result {
        case .success(let element): return element
        case .failure(let error):
            // A cancellation (or the pool's end) ends even a stream of `Result`s.
            if let failureElement, !(error is CancellationError) { return failureElement(error) }
            throw error
        }
    }

    /// Blocks for the next result.
    /// - Returns: the next result, or `nil` after the last one.
    /// - Throws: the item's error, `CancellationError` once the stream was cancelled, or
    ///   ``PoolError/Code/timeout`` if none arrives within `timeout`.
    public func next(timeout: Duration? = nil) throws -> Element? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = timeout.map { Date().addingTimeInterval($0.seconds) }
        while head >= buffer.count && !finished {
            if let deadline {
                if !condition.wait(until: deadline) && head >= buffer.count && !finished {
                    throw PoolError(.timeout, "no result within \(timeout!)")
                }
            } else {
                condition.wait()
            }
        }
        guard head < buffer.count else {
            if cancelled && !cancellationReported {
                cancellationReported = true
                throw CancellationError()
            }
            return nil
        }
        let result = buffer.result(at: head, decode: decode)
        head += 1
        if head == buffer.count {
            buffer.removeAll()
            head = 0
        }
        feed?.consumed(1)
        return try element(result)
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
        buffer = StreamResults()
        head = 0
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

    /// Waits until results are available without blocking a thread, and takes every one of
    /// them at once: the consumer pays a lock, a wake-up and a window update per batch, not per
    /// result. A cancelled task cancels the stream.
    /// - Parameter done: how many results of its previous batch the consumer has handed out
    ///   (all of them): only now does the window open by as much, so that the input never runs
    ///   more than a window ahead of what the caller has actually read.
    /// - Returns: the results in order (at least one), or none after the last one.
    /// - Throws: `CancellationError` once the stream was cancelled (once; then it ends).
    @usableFromInline
    func nextBatch(afterReading done: Int) async throws -> StreamResults {
        if done > 0 { read(done) }
        if Task.isCancelled { cancel() }
        while true {
            switch try takeAll() {
            case .batch(let results): return results
            case .end: return StreamResults()
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

    /// The consumer has handed out `count` more results: the window opens by as much.
    private func read(_ count: Int) {
        condition.lock()
        let window = feed
        condition.unlock()
        window?.consumed(count)
    }

    private enum Take {
        case batch(StreamResults)
        case end
        case empty
    }

    private func takeAll() throws -> Take {
        condition.lock()
        if head < buffer.count {
            var taken = StreamResults()
            if head == 0 {
                swap(&taken, &buffer)
            } else {
                // Some were read one at a time (``next(timeout:)``): hand over the rest.
                for position in head..<buffer.count {
                    if let failure = buffer.failures[position] {
                        taken.append(failure: failure)
                    } else {
                        let start = position == 0 ? 0 : buffer.ends[position - 1]
                        buffer.bytes.withUnsafeBytes { taken.append(UnsafeRawBufferPointer(rebasing: $0[start..<buffer.ends[position]])) }
                    }
                }
                buffer = StreamResults()
                head = 0
            }
            condition.unlock()
            return .batch(taken)
        }
        defer { condition.unlock() }
        if cancelled && !cancellationReported {
            cancellationReported = true
            throw CancellationError()
        }
        return finished ? .end : .empty
    }

    /// Registers the consumer's continuation, or resumes it at once if something arrived since
    /// ``take()`` looked.
    private func park(_ continuation: CheckedContinuation<Void, Never>) {
        condition.lock()
        if head >= buffer.count && !finished {
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
    @usableFromInline
    final class Consumer {
        @usableFromInline let stream: ResultStream
        init(_ stream: ResultStream) { self.stream = stream }
        deinit { stream.cancel() }
    }

    /// Iterates the results; see ``ResultStream`` for cancellation and the one-consumer rule.
    ///
    /// It takes the results that have arrived a batch at a time and hands them out from its own
    /// buffer, decoding each as it goes: per result, that and a cancellation check, in the
    /// caller's own (specialized) code; the lock, the wake-up and the window update are paid once
    /// per batch.
    public struct AsyncIterator: AsyncIteratorProtocol {
        /// `nil` for a second consumer, which is refused.
        @usableFromInline let consumer: Consumer?
        @usableFromInline var done = false
        /// Results taken from the stream and not handed out yet, from `position` on.
        @usableFromInline var taken = StreamResults()
        @usableFromInline var position = 0
        /// The stream's own, kept here so that handing out a result touches no shared object
        /// (its reference count is the IO thread's too).
        @usableFromInline let decode: @Sendable (inout WireReader) throws -> Element
        @usableFromInline let failureElement: (@Sendable (any Error) -> Element)?

        init(consumer: Consumer?, decode: @escaping @Sendable (inout WireReader) throws -> Element,
             failureElement: (@Sendable (any Error) -> Element)?) {
            self.consumer = consumer
            self.decode = decode
            self.failureElement = failureElement
        }

        /// The next result, `nil` after the last one.
        /// - Throws: the item's error, `CancellationError`, or ``PoolError/Code/misuse`` for a
        ///   second consumer.
        @inlinable
        public mutating func next() async throws -> Element? {
            if position < taken.count, !Task.isCancelled {
                let result = taken.result(at: position, decode: decode)
                position += 1
                switch result {
                case .success(let element): return element
                case .failure(let error):
                    // A cancellation (or the pool's end) ends even a stream of `Result`s.
                    if let failureElement, !(error is CancellationError) { return failureElement(error) }
                    end()
                    throw error
                }
            }
            return try await nextSlowly()
        }

        /// Takes the next batch (or sees the end, a cancellation, a second consumer).
        @usableFromInline
        mutating func nextSlowly() async throws -> Element? {
            guard !done else { return nil }
            guard let consumer else {
                done = true
                throw PoolError(.misuse, "this ResultStream already has a consumer: the results of a stream go to one "
                    + "iterator only (collect them into an array, or submit the job again, to read them twice)")
            }
            do {
                if Task.isCancelled {
                    // Results already taken are not handed out once the task is cancelled.
                    consumer.stream.cancel()
                    throw CancellationError()
                }
                taken = try await consumer.stream.nextBatch(afterReading: taken.count)
                guard taken.count > 0 else {
                    end()
                    return nil
                }
                position = 1
                return try consumer.stream.element(taken.result(at: 0, decode: consumer.stream.decode))
            } catch {
                end()
                throw error
            }
        }

        @usableFromInline
        mutating func end() {
            done = true
            taken = StreamResults()
            position = 0
        }
    }

    /// The stream's iterator. The first call gets the results; later ones get an iterator that
    /// throws ``PoolError/Code/misuse``.
    public func makeAsyncIterator() -> AsyncIterator {
        condition.lock()
        let first = !hasConsumer
        hasConsumer = true
        condition.unlock()
        return AsyncIterator(consumer: first ? Consumer(self) : nil, decode: decode, failureElement: failureElement)
    }

    // MARK: producer side (the pool's IO thread)

    deinit {
        pending.deinitialize(count: 1)
        pending.deallocate()
    }

    func deliver(_ raw: UnsafeRawBufferPointer) {
        pending.pointee.append(raw)
    }

    func deliver(failure: any Error) {
        pending.pointee.append(failure: mapError(failure))
    }

    /// Publishes what was delivered since the last commit (nothing, once cancelled).
    func commit() {
        guard !pending.pointee.isEmpty else { return }
        condition.lock()
        if !cancelled {
            if buffer.isEmpty {
                swap(&buffer, &pending.pointee)  // the usual case: the consumer took the last batch
            } else {
                buffer.append(contentsOf: pending.pointee)
            }
        }
        let resume = waiter
        waiter = nil
        condition.broadcast()
        condition.unlock()
        pending.pointee.removeAll()
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
