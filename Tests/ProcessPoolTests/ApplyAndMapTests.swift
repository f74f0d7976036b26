import Foundation
import PoolTestSupport
import ProcessPool
import Synchronization
import Testing

/// Checklist 3–10 and 15: apply, map, starmap, chunking, empty input, callbacks, failures.
@Suite("apply and map", .timeLimit(.minutes(4)))
struct ApplyAndMapTests {
    @Test("applyAsync returns an async result; apply is applyAsync(...).get()")
    func apply() async throws {
        let pool = try TestEnvironment.pool()
        defer { pool.terminate() }
        let result = try pool.applyAsync(TestTasks.add, Pair(3, 4))
        #expect(try result.get(timeout: .seconds(30)) == 7)
        #expect(result.isReady)
        #expect(try result.successful())
        // A synchronous context selects the blocking forms (Python's apply/map/starmap).
        func blocking() throws -> Int { try pool.apply(TestTasks.square, 9) }
        let direct = try blocking()
        #expect(direct == 81)
        let awaited: Int = try await pool.apply(TestTasks.square, 5)
        #expect(awaited == 25)
    }

    @Test("the task runs in a worker process, not in the caller")
    func runsInWorker() async throws {
        let pool = try TestEnvironment.pool()
        defer { pool.terminate() }
        let pid: Int32 = try await pool.apply(TestTasks.pid, 0)
        #expect(pid != getpid())
        #expect(pool.workerPIDs.contains(pid))
    }

    @Test("map equals a plain map, in input order", arguments: [1, 20, 1000])
    func mapInOrder(chunksize: Int) async throws {
        let pool = try TestEnvironment.pool()
        defer { pool.terminate() }
        let input = Array(0..<100)
        let viaPool = try await pool.mapAsync(TestTasks.square, input, chunksize: chunksize).value
        #expect(viaPool == input.map { $0 * $0 })
        func blocking() throws -> [Int] { try pool.map(TestTasks.square, input, chunksize: chunksize) }
        #expect(try blocking() == viaPool)
    }

    @Test("starmap unpacks each tuple into the task's two parameters")
    func starmap() async throws {
        let pool = try TestEnvironment.pool()
        defer { pool.terminate() }
        let pairs = (1...30).map { ($0, $0 + 1) }
        let products = try await pool.starmapAsync(TestTasks.multiply, pairs, chunksize: 4).value
        #expect(products == pairs.map { $0.0 * $0.1 })
        func blocking() throws -> [Int] { try pool.starmap(TestTasks.multiply, pairs) }
        #expect(try blocking() == products)
    }

    @Test("mapAsync reads its whole input when called")
    func materialisesInput() async throws {
        let pool = try TestEnvironment.pool()
        defer { pool.terminate() }
        let input = CountingSequence(limit: 50)
        let result = try pool.mapAsync(TestTasks.square, input)
        #expect(input.produced == 50, "the input was consumed before mapAsync returned")
        #expect(try await result.value == (0..<50).map { $0 * $0 })
    }

    @Test("Python's default chunksize: divmod(n, workers*4), plus one if there is a remainder")
    func defaultChunksizeFormula() {
        #expect(ProcessPool.defaultChunksize(items: 10, workers: 2) == 2)
        #expect(ProcessPool.defaultChunksize(items: 8, workers: 2) == 1)
        #expect(ProcessPool.defaultChunksize(items: 100, workers: 2) == 13)
        #expect(ProcessPool.defaultChunksize(items: 1_000_000, workers: 2) == 125_000)
        #expect(ProcessPool.defaultChunksize(items: 3, workers: 4) == 1)
        #expect(ProcessPool.defaultChunksize(items: 17, workers: 1) == 5)
    }

    @Test("the tutorial's 10 items on 2 workers go out as 5 chunks of 2; imap defaults to 1")
    func tutorialChunking() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        let events = pool.events()
        let collector = Task { await collectEvents(events) }
        _ = try await pool.mapAsync(TestTasks.square, Array(1...10)).value
        _ = try await pool.imap(TestTasks.square, Array(1...3)).collect()
        pool.close()
        try await pool.join()
        let all = await collector.value
        let jobs = all.compactMap { event -> JobDescriptor? in
            if case .jobSubmitted(let job) = event.kind { return job }
            return nil
        }
        try #require(jobs.count == 2)
        #expect(jobs[0].chunksize == 2 && jobs[0].chunksizeIsAutomatic)
        #expect(jobs[1].chunksize == 1 && jobs[1].mode == .imap)
        // A run of consecutive chunks sent at once (tiny items) is cut back into its chunks.
        let dispatched = all.flatMap { event -> [Pair<Int, Int>] in
            guard let run = event.kind.dispatchedChunks, run.job == jobs[0].id else { return [] }
            return stride(from: run.start, to: run.start + run.count, by: jobs[0].chunksize).map {
                Pair($0, min(jobs[0].chunksize, run.start + run.count - $0))
            }
        }
        #expect(dispatched.map(\.first) == [0, 2, 4, 6, 8])
        #expect(dispatched.allSatisfy { $0.second == 2 })
    }

    @Test("empty input gives [] at once from every map variant")
    func emptyInput() async throws {
        let pool = try TestEnvironment.pool()
        defer { pool.terminate() }
        #expect(try await pool.mapAsync(TestTasks.square, [Int]()).value == [])
        #expect(try await pool.mapAsync(TestTasks.square, [Int](), chunksize: 3).value == [])
        #expect(try await pool.starmapAsync(TestTasks.multiply, [(Int, Int)]()).value == [])
        #expect(try await pool.imap(TestTasks.square, [Int]()).collect() == [])
        #expect(try await pool.imapUnordered(TestTasks.square, [Int]()).collect() == [])
        let result = try pool.mapAsync(TestTasks.square, [Int]())
        #expect(try result.get(timeout: .seconds(30)) == [])
    }

    @Test("a map callback runs exactly once with the whole ordered list, never with the error callback")
    func callbackOnce() async throws {
        let pool = try TestEnvironment.pool()
        defer { pool.terminate() }
        let calls = Mutex<[[Int]]>([])
        let errors = Atomic<Int>(0)
        let result = try pool.mapAsync(TestTasks.square, Array(0..<40), chunksize: 3,
                                       callback: { list in calls.withLock { $0.append(list) } },
                                       errorCallback: { _ in errors.add(1, ordering: .relaxed) })
        let value = try await result.value
        #expect(calls.withLock { $0 } == [value])
        #expect(value == (0..<40).map { $0 * $0 })
        #expect(errors.load(ordering: .relaxed) == 0)
    }

    @Test("an error callback runs exactly once with the error, never with the callback")
    func errorCallbackOnce() async throws {
        let pool = try TestEnvironment.pool()
        defer { pool.terminate() }
        let successes = Atomic<Int>(0)
        let errors = Mutex<[String]>([])
        let result = try pool.mapAsync(TestTasks.failOn, (0..<20).map { Pair($0, 7) }, chunksize: 2,
                                       callback: { _ in successes.add(1, ordering: .relaxed) },
                                       errorCallback: { error in errors.withLock { $0.append("\(error)") } })
        #expect(result.wait(timeout: .seconds(60)))
        #expect(successes.load(ordering: .relaxed) == 0)
        let seen = errors.withLock { $0 }
        #expect(seen.count == 1)
        #expect(seen.first?.contains("rejected 7") == true)
    }

    @Test("a failing item makes get() throw the task's error, with its type and description")
    func failingItem() async throws {
        let pool = try TestEnvironment.pool()
        defer { pool.terminate() }
        let result = try pool.mapAsync(TestTasks.failOn, (0..<10).map { Pair($0, 3) })
        #expect(result.wait(timeout: .seconds(60)))
        #expect(try result.successful() == false)
        do {
            _ = try result.get()
            Issue.record("get() should throw")
        } catch let error as TaskError {
            #expect(error.typeName == "PoolTestSupport.TestTaskError")
            #expect(error.remoteDescription == "rejected 3")
            #expect(error.task == "failOn")
            #expect(error.index == 3)
            #expect(pool.workerPIDs.contains(error.workerPID))
        }
    }

    @Test("a failed job is ready only when every chunk is done (no fail-fast)")
    func noFailFast() async throws {
        let pool = try TestEnvironment.pool()
        defer { pool.terminate() }
        let events = pool.events()
        let collector = Task { await collectEvents(events) }
        // Item 0 fails at once; the rest take a while.
        let items = [Pair(0, 0)] + (1..<8).map { Pair($0, 50) }
        let result = try pool.mapAsync(TestTasks.failAfter, items, chunksize: 1)
        #expect(throws: TaskError.self) { try result.get(timeout: .seconds(60)) }
        pool.close()
        try await pool.join()
        let all = await collector.value
        let finished = all.reduce(0) { $0 + $1.kind.finishedItemCount }
        let completedAt = try #require(all.firstIndex { if case .jobCompleted = $0.kind { return true } else { return false } })
        let finishedBefore = all[..<completedAt].reduce(0) { $0 + $1.kind.finishedItemCount }
        #expect(finished == 8)
        #expect(finishedBefore == 8, "every item finished before the job completed")
    }

    @Test("with several failures, the first to arrive wins", .timeLimit(.minutes(2)))
    func firstFailureWins() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        var events = pool.events().makeAsyncIterator()
        // Item 0 fails only once its gate opens, which happens after item 1 has failed.
        let result = try pool.mapAsync(TestTasks.gatedFailure, [GatedValue(10, gate: gate), GatedValue(11)], chunksize: 1)
        while let event = await events.next() {
            if case .itemFinished(_, 1, _, let error, _) = event.kind, error != nil { break }
        }
        TestEnvironment.open(gate)
        do {
            _ = try result.get(timeout: .seconds(60))
            Issue.record("get() should throw")
        } catch let error as TaskError {
            #expect(error.remoteDescription == "rejected 11")
            #expect(error.index == 1)
        }
    }

    @Test("chunksize below 1 is an error everywhere", arguments: [0, -1])
    func invalidChunksize(chunksize: Int) throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let isInvalid: (any Error) -> Bool = { ($0 as? PoolError)?.code == .invalidArgument }
        #expect(performing: { try pool.mapAsync(TestTasks.square, [1, 2], chunksize: chunksize) }, throws: isInvalid)
        #expect(performing: { try pool.starmapAsync(TestTasks.multiply, [(1, 2)], chunksize: chunksize) }, throws: isInvalid)
        #expect(performing: { try pool.imap(TestTasks.square, [1, 2], chunksize: chunksize) }, throws: isInvalid)
        #expect(performing: { try pool.imapUnordered(TestTasks.square, [1, 2], chunksize: chunksize) }, throws: isInvalid)
    }
}

/// A sequence that counts how many elements were taken from it.
final class CountingSequence: Sequence, @unchecked Sendable {
    // Safe: used from one test task at a time.
    let limit: Int
    private(set) var produced = 0

    init(limit: Int) { self.limit = limit }

    func makeIterator() -> AnyIterator<Int> {
        AnyIterator { [self] in
            guard produced < limit else { return nil }
            produced += 1
            return produced - 1
        }
    }
}
