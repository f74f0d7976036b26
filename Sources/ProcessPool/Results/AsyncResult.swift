import Foundation

/// The result of `applyAsync`, `mapAsync` or `starmapAsync`, like Python's `AsyncResult`.
///
/// Wait for it by blocking (``get(timeout:)``, ``wait(timeout:)``) or by awaiting ``value``.
/// A callback given at submission runs once, on the pool's IO thread, before the result becomes
/// ready; keep it short, and never block in it on another result of the same pool.
///
/// Cancelling the task that awaits ``value`` cancels the job (see ``cancel()``).
public final class AsyncResult<Value: Sendable>: @unchecked Sendable {
    // Safe to share: `outcome`, `claimed` and `continuations` are only touched while `condition`
    // is locked; the callbacks are immutable `@Sendable` closures.
    private let condition = NSCondition()
    private var outcome: Result<Value, any Error>?
    /// Set by the first ``resolve(_:)``: later ones (the engine after a cancel) are ignored.
    private var claimed = false
    private var continuations: [CheckedContinuation<Value, any Error>] = []
    private let callback: (@Sendable (Value) -> Void)?
    private let errorCallback: (@Sendable (any Error) -> Void)?
    /// Asks the pool to drop the job's queued work.
    private let cancelJob: @Sendable () -> Void

    init(callback: (@Sendable (Value) -> Void)?, errorCallback: (@Sendable (any Error) -> Void)?,
         cancelJob: @escaping @Sendable () -> Void = {}) {
        self.callback = callback
        self.errorCallback = errorCallback
        self.cancelJob = cancelJob
    }

    /// Cancels the job: its chunks still in the queue are dropped at once, and the result fails
    /// with `CancellationError` (the error callback, if any, runs with it, on this thread). Items
    /// already running in a worker finish there; their results are discarded. Other jobs are
    /// untouched. Does nothing once the result is ready.
    public func cancel() {
        condition.lock()
        let pending = !claimed
        condition.unlock()
        guard pending else { return }
        resolve(.failure(CancellationError()))
        cancelJob()
    }

    /// Whether the result is available (success or failure). Python's `ready()`.
    public var isReady: Bool {
        condition.lock()
        defer { condition.unlock() }
        return outcome != nil
    }

    /// Python's spelling of ``isReady``.
    @available(*, deprecated, renamed: "isReady")
    public var ready: Bool { isReady }

    /// Whether the job succeeded. Python's `successful()`.
    /// - Throws: ``PoolError/Code/notReady`` before the result is ready.
    public func successful() throws -> Bool {
        condition.lock()
        defer { condition.unlock() }
        switch outcome {
        case nil: throw PoolError(.notReady, "the result is not ready yet")
        case .success: return true
        case .failure: return false
        }
    }

    /// Blocks until the result is ready or `timeout` passes. Never throws. Python's `wait()`.
    /// - Returns: whether the result is ready.
    @discardableResult
    public func wait(timeout: Duration? = nil) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = timeout.map { Date().addingTimeInterval($0.seconds) }
        while outcome == nil {
            if let deadline {
                if !condition.wait(until: deadline) { return outcome != nil }
            } else {
                condition.wait()
            }
        }
        return true
    }

    /// Blocks until the result is ready, then returns it or throws the job's error. Python's `get()`.
    /// - Throws: ``PoolError/Code/timeout`` if `timeout` passes first; otherwise the job's error
    ///   (a ``TaskError`` for an error thrown by the task, a ``PoolError`` for the pool's).
    public func get(timeout: Duration? = nil) throws -> Value {
        guard wait(timeout: timeout) else {
            throw PoolError(.timeout, "the result was not ready within \(timeout!)")
        }
        condition.lock()
        defer { condition.unlock() }
        return try outcome!.get()
    }

    /// The result, awaited without blocking a thread.
    ///
    /// Cancelling the awaiting task cancels the job (as ``cancel()`` does): the wait ends at
    /// once with `CancellationError`, unless the result was ready first.
    /// - Throws: the job's error (see ``get(timeout:)``), or `CancellationError`.
    public var value: Value {
        get async throws {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    condition.lock()
                    if let outcome {
                        condition.unlock()
                        continuation.resume(with: outcome)
                    } else {
                        continuations.append(continuation)
                        condition.unlock()
                    }
                }
            } onCancel: {
                self.cancel()
            }
        }
    }

    /// Sets the outcome once: runs the callback, then wakes every waiter. Later calls do nothing.
    func resolve(_ result: Result<Value, any Error>) {
        condition.lock()
        let alreadySet = claimed
        claimed = true
        condition.unlock()
        guard !alreadySet else { return }
        switch result {
        case .success(let value): callback?(value)
        case .failure(let error): errorCallback?(error)
        }
        condition.lock()
        outcome = result
        let waiting = continuations
        continuations = []
        condition.broadcast()
        condition.unlock()
        for continuation in waiting { continuation.resume(with: result) }
    }
}

extension Duration {
    /// Whole nanoseconds (clamped at 0).
    var nanoseconds: UInt64 {
        let parts = components
        guard parts.seconds >= 0 else { return 0 }
        return UInt64(parts.seconds) * 1_000_000_000 + UInt64(max(0, parts.attoseconds) / 1_000_000_000)
    }

    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
