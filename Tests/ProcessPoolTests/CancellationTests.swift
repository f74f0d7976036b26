import Foundation
import PoolTestSupport
import ProcessPool
import Synchronization
import Testing

/// Cancelling the task that awaits a result or iterates a stream cancels that job, and only it:
/// its queued chunks are dropped, it ends with `CancellationError`, the monitor sees it cancelled.
@Suite("Cancellation", .timeLimit(.minutes(4)))
struct CancellationTests {
    /// A job of six gated items on one worker: item 0 runs (held by `gate`), 1–5 wait in the queue.
    private static func heldItems(_ gate: String) -> [GatedValue] {
        [GatedValue(0, gate: gate)] + (1..<6).map { GatedValue($0) }
    }

    @Test("cancelling the task awaiting a result cancels the job; queued chunks are dropped; other jobs are untouched")
    func cancelAwaitedValue() async throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let recorder = EventRecorder(pool)
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        defer { TestEnvironment.open(gate) }
        let result = try pool.mapAsync(TestTasks.gatedValue, Self.heldItems(gate), chunksize: 1, label: "doomed")
        let other = try pool.mapAsync(TestTasks.square, Array(0..<10), chunksize: 2, label: "other")
        #expect(await eventually { recorder.job("doomed").map { recorder.dispatchedStarts(of: $0).contains(0) } ?? false })
        let doomed = try #require(recorder.job("doomed"))

        let running = CallbackFlag()
        let waiter = Task {
            running.set(true)
            return try await result.value
        }
        // Cancelled once it runs (suspended in `value` or about to be: either way it must end);
        // the gate keeps the job from finishing first, however slow the machine.
        #expect(await eventually { running.value == true })
        waiter.cancel()
        let ended = await outcome(of: waiter)
        #expect(ended?.isCancellation == true, "the awaiting task ends with CancellationError at once: \(String(describing: ended))")
        #expect(result.isReady)
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(await eventually { recorder.wasCancelled(doomed) }, "the monitor sees the job cancelled")

        TestEnvironment.open(gate)
        #expect(try await other.value == (0..<10).map { $0 * $0 }, "the other job is untouched")
        #expect(recorder.dispatchedStarts(of: doomed) == [0], "the queued items 1–5 never went to a worker")
        #expect(try await pool.apply(TestTasks.square, 7) == 49)
    }

    @Test("cancelling the task iterating an imap stream cancels the job")
    func cancelIteratingTask() async throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let recorder = EventRecorder(pool)
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        defer { TestEnvironment.open(gate) }
        let stream = try pool.imap(TestTasks.gatedValue, Self.heldItems(gate), label: "doomed")
        #expect(await eventually { recorder.job("doomed").map { recorder.dispatchedStarts(of: $0).contains(0) } ?? false })
        let doomed = try #require(recorder.job("doomed"))

        let running = CallbackFlag()
        let consumer = Task {
            running.set(true)
            var seen: [Int] = []
            for try await value in stream { seen.append(value) }
            return seen
        }
        #expect(await eventually { running.value == true })
        consumer.cancel()
        let ended = await outcome(of: consumer)
        #expect(ended?.isCancellation == true, "\(String(describing: ended))")
        #expect(await eventually { recorder.wasCancelled(doomed) })
        TestEnvironment.open(gate)
        #expect(try await pool.apply(TestTasks.square, 5) == 25)
        #expect(recorder.dispatchedStarts(of: doomed) == [0])
    }

    @Test("breaking out of for-await (the iterator dropped) cancels the stream's job")
    func abandonedStream() async throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let recorder = EventRecorder(pool)
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        defer { TestEnvironment.open(gate) }
        // Item 0 comes back at once; item 1 is held, so the job cannot end by itself.
        let items = [GatedValue(0), GatedValue(1, gate: gate)] + (2..<20).map { GatedValue($0) }
        let stream = try pool.imapUnordered(TestTasks.gatedValue, items, label: "abandoned")
        var first: Int?
        for try await value in stream {
            first = value
            break
        }
        #expect(first == 0)
        #expect(await eventually { recorder.job("abandoned") != nil })
        let job = try #require(recorder.job("abandoned"))
        #expect(await eventually { recorder.wasCancelled(job) })
        TestEnvironment.open(gate)
        #expect(try await pool.apply(TestTasks.square, 4) == 16)
    }

    @Test("a stream read to its end, or a finished result, is not cancelled by leaving it")
    func finishedJobsAreNotCancelled() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let recorder = EventRecorder(pool)
        let values = try await pool.imap(TestTasks.square, Array(0..<30), label: "whole").collect()
        #expect(values == (0..<30).map { $0 * $0 })
        let result = try pool.mapAsync(TestTasks.square, [1, 2], label: "done")
        #expect(try await result.value == [1, 4])
        result.cancel()
        #expect(try result.get() == [1, 4])
        #expect(await eventually { recorder.job("whole") != nil && recorder.job("done") != nil })
        let whole = try #require(recorder.job("whole"))
        let done = try #require(recorder.job("done"))
        #expect(await eventually { recorder.completion(of: whole) != nil && recorder.completion(of: done) != nil })
        #expect(recorder.completion(of: whole) == .some(nil))
        #expect(recorder.completion(of: done) == .some(nil))
    }

    @Test("cancel() on an AsyncResult and on a ResultStream cancels the job explicitly")
    func explicitCancel() async throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let recorder = EventRecorder(pool)
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        defer { TestEnvironment.open(gate) }
        let cancelledError = CallbackFlag()
        let result = try pool.mapAsync(TestTasks.gatedValue, Self.heldItems(gate), chunksize: 1, label: "result",
                                       errorCallback: { cancelledError.set($0 is CancellationError) })
        let stream = try pool.imap(TestTasks.gatedValue, (0..<4).map { GatedValue($0) }, label: "stream")
        result.cancel()
        stream.cancel()
        #expect(throws: CancellationError.self) { try result.get(timeout: .seconds(20)) }
        #expect(cancelledError.value == true, "the error callback ran once, with CancellationError")
        #expect(throws: CancellationError.self) { try stream.next(timeout: .seconds(20)) }
        #expect(try stream.next(timeout: .seconds(20)) == nil)
        #expect(await eventually { recorder.job("result") != nil && recorder.job("stream") != nil })
        let resultJob = try #require(recorder.job("result"))
        let streamJob = try #require(recorder.job("stream"))
        #expect(await eventually {
            recorder.wasCancelled(resultJob) && recorder.wasCancelled(streamJob)
        })
        TestEnvironment.open(gate)
        #expect(try await pool.apply(TestTasks.square, 3) == 9)
    }

    @Test("a task group racing a result against a deadline ends when the deadline wins, and cancels the job")
    func raceAgainstDeadline() async throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let recorder = EventRecorder(pool)
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        defer { TestEnvironment.open(gate) }
        let result = try pool.mapAsync(TestTasks.gatedValue, Self.heldItems(gate), chunksize: 1, label: "raced")
        let race = Task { () throws -> [Int]? in
            try await withThrowingTaskGroup(of: [Int]?.self) { group in
                group.addTask { try await result.value }
                group.addTask {
                    // The deadline itself; the gate keeps the result from ever winning.
                    try await Task.sleep(for: .milliseconds(50))
                    return nil
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
        }
        let ended = await outcome(of: race)
        #expect(ended.map { (try? $0.get()) == .some(nil) } == true, "the deadline won: \(String(describing: ended))")
        #expect(await eventually { recorder.job("raced") != nil })
        let job = try #require(recorder.job("raced"))
        #expect(await eventually { recorder.wasCancelled(job) })
    }
}

/// A flag set from a callback (on the pool's IO thread or the cancelling one).
final class CallbackFlag: Sendable {
    private let flag = Mutex<Bool?>(nil)
    func set(_ value: Bool) { flag.withLock { $0 = value } }
    var value: Bool? { flag.withLock { $0 } }
}
