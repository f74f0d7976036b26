import Foundation
import ProcessPool
import Synchronization

/// Records a pool's events as they come, for tests that poll for one.
final class EventRecorder: Sendable {
    private let kinds = Mutex<[PoolEvent.Kind]>([])

    init(_ pool: ProcessPool) {
        let stream = pool.events()
        Task { [self] in
            for await event in stream { self.kinds.withLock { $0.append(event.kind) } }
        }
    }

    var all: [PoolEvent.Kind] { kinds.withLock { $0 } }

    /// The id of the job submitted with `label`.
    func job(_ label: String) -> Int? {
        for case .jobSubmitted(let descriptor) in all where descriptor.label == label { return descriptor.id }
        return nil
    }

    /// The first items of the chunks of `job` handed to a worker so far.
    func dispatchedStarts(of job: Int) -> [Int] {
        all.compactMap { kind in
            if case .chunkDispatched(job, _, let start, _, _, _) = kind { return start }
            return nil
        }
    }

    /// Items of `job` reported finished so far (one by one or in runs).
    func finishedItems(of job: Int) -> Int {
        all.reduce(0) { total, kind in
            switch kind {
            case .itemFinished(job, _, _, _, _): total + 1
            case .itemsFinished(job, _, let count, _, _): total + count
            default: total
            }
        }
    }

    /// The messages of the pool's `workerFault` events so far.
    var faults: [String] {
        all.compactMap { kind in
            if case .workerFault(_, let message) = kind { return message }
            return nil
        }
    }

    /// How `job` ended: the error it completed with (`.some(nil)`: it succeeded), `"cancelled"`
    /// for a `jobCancelled` event, `nil` while it runs.
    func completion(of job: Int) -> String?? {
        for kind in all {
            switch kind {
            case .jobCompleted(job, let error): return .some(error)
            case .jobCancelled(job): return .some("cancelled")
            default: continue
            }
        }
        return nil
    }

    /// Whether `job` ended with a `jobCancelled` event (not a `jobCompleted` with some error).
    func wasCancelled(_ job: Int) -> Bool {
        all.contains { if case .jobCancelled(job) = $0 { true } else { false } }
    }
}

/// Polls `condition` every few milliseconds until it holds or `seconds` pass, without blocking
/// a thread. - Returns: whether it held.
func eventually(within seconds: Double = 20, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

/// The outcome of `task`, or `nil` if it has not ended within `seconds` (a task that ignores
/// cancellation fails the test instead of hanging it).
func outcome<T: Sendable>(of task: Task<T, any Error>, within seconds: Double = 20) async -> Result<T, any Error>? {
    let box = OutcomeBox<T>()
    Task { let result = await task.result; box.value.withLock { $0 = result } }
    _ = await eventually(within: seconds) { box.value.withLock { $0 != nil } }
    return box.value.withLock { $0 }
}

extension Result {
    var isCancellation: Bool {
        if case .failure(let error) = self { return error is CancellationError }
        return false
    }
}

/// Where ``outcome(of:within:)`` keeps a task's result.
final class OutcomeBox<T: Sendable>: Sendable {
    let value = Mutex<Result<T, any Error>?>(nil)
}
