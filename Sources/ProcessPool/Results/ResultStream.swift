import DequeModule
import Foundation

/// The results of `imap` or `imapUnordered`, as they become available: an `AsyncSequence`, and
/// also a blocking iterator with a timeout (Python's `IMapIterator.next(timeout)`).
///
/// `imap` yields in input order, each result as soon as it and all before it are done;
/// `imapUnordered` yields a chunk's results as soon as that chunk is done. A failed item throws
/// its error at its position; the async iterator then ends, while ``next(timeout:)`` may be called
/// again to go on past it, as Python allows.
public final class ResultStream<Element: Sendable>: AsyncSequence, @unchecked Sendable {
    // Safe to share: `buffer`, `finished` and `waiter` are only touched while `condition` is
    // locked. `pending` is touched only by the pool's IO thread (the sole producer), between
    // `deliver` and `commit`.
    private let condition = NSCondition()
    private var buffer = Deque<Result<Element, any Error>>()
    private var finished = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var pending: [Result<Element, any Error>] = []
    private let decode: @Sendable (inout WireReader) throws -> Element

    init(decode: @escaping @Sendable (inout WireReader) throws -> Element) {
        self.decode = decode
    }

    /// Blocks for the next result.
    /// - Returns: the next result, or `nil` after the last one.
    /// - Throws: the item's error, or ``PoolError/Code/timeout`` if none arrives within `timeout`.
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
        return try first.get()
    }

    /// Waits for the next result without blocking a thread; `nil` after the last one.
    func nextAsync() async throws -> Element? {
        while true {
            switch take() {
            case .element(let result): return try result.get()
            case .end: return nil
            case .empty:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    park(continuation)
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
        defer { condition.unlock() }
        if let first = buffer.popFirst() { return .element(first) }
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
    public func collect() async throws -> [Element] {
        var all: [Element] = []
        for try await element in self { all.append(element) }
        return all
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: ResultStream
        var done = false

        public mutating func next() async throws -> Element? {
            guard !done else { return nil }
            do {
                let element = try await stream.nextAsync()
                if element == nil { done = true }
                return element
            } catch {
                done = true
                throw error
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }

    // MARK: producer side (the pool's IO thread)

    func deliver(_ raw: UnsafeRawBufferPointer) {
        var reader = WireReader(raw)
        do {
            pending.append(.success(try decode(&reader)))
        } catch {
            pending.append(.failure(PoolError(.encoding, "could not decode a result: \(error)")))
        }
    }

    func deliver(failure: any Error) { pending.append(.failure(failure)) }

    /// Publishes what was delivered since the last commit.
    func commit() {
        guard !pending.isEmpty else { return }
        condition.lock()
        buffer.append(contentsOf: pending)
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
        let resume = waiter
        waiter = nil
        condition.broadcast()
        condition.unlock()
        resume?.resume()
    }
}
