import Foundation
import PoolTestSupport
import ProcessPool
import Testing

/// Checklist 11–14: imap order and incrementality, timeouts, imap_unordered, failing input.
@Suite("imap and imapUnordered", .timeLimit(.minutes(4)))
struct IMapTests {
    @Test("imap yields in input order, and the first result comes before the last task ends")
    func imapIncremental() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        // The last item cannot finish until we have read the others: only an incremental imap passes.
        let items = (0..<5).map { GatedValue($0) } + [GatedValue(5, gate: gate)]
        let stream = try pool.imap(TestTasks.gatedValue, items)
        var iterator = stream.makeAsyncIterator()
        var firstFive: [Int] = []
        for _ in 0..<5 { firstFive.append(try #require(try await iterator.next())) }
        #expect(firstFive == [0, 1, 2, 3, 4])
        TestEnvironment.open(gate)
        #expect(try await iterator.next() == 5)
        #expect(try await iterator.next() == nil)
    }

    @Test("results of fast items reach the caller while a slow item after them in the same chunk still runs")
    func fastResultsNotHeldBySlowItem() throws {
        // One worker, one chunk [fast, fast, gated]: the worker has the two fast results in its
        // buffer when the gated item starts. They must be written without waiting for it.
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        let items = [GatedValue(10), GatedValue(11), GatedValue(12, gate: gate)]
        let stream = try pool.imap(TestTasks.gatedValue, items, chunksize: 3)
        #expect(try stream.next(timeout: .seconds(60)) == 10)
        #expect(try stream.next(timeout: .seconds(60)) == 11)
        // The gated item is still blocked (nothing has opened its gate).
        #expect(!FileManager.default.fileExists(atPath: gate))
        TestEnvironment.open(gate)
        #expect(try stream.next(timeout: .seconds(60)) == 12)
        #expect(try stream.next(timeout: .seconds(60)) == nil)
    }

    @Test("imap with a timeout throws a timeout error; the sequence ends after the last item")
    func imapTimeout() throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        let stream = try pool.imap(TestTasks.gatedValue, [GatedValue(7, gate: gate), GatedValue(8)])
        #expect { try stream.next(timeout: .milliseconds(20)) } throws: { ($0 as? PoolError)?.code == .timeout }
        TestEnvironment.open(gate)
        #expect(try stream.next(timeout: .seconds(60)) == 7)
        #expect(try stream.next(timeout: .seconds(60)) == 8)
        #expect(try stream.next(timeout: .seconds(60)) == nil)
    }

    @Test("imap results equal a plain map for several chunk sizes", arguments: [1, 3, 50])
    func imapMatchesMap(chunksize: Int) async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let ordered = try await pool.imap(TestTasks.square, Array(0..<200), chunksize: chunksize).collect()
        #expect(ordered == (0..<200).map { $0 * $0 })
        let unordered = try await pool.imapUnordered(TestTasks.square, Array(0..<200), chunksize: chunksize).collect()
        #expect(unordered.sorted() == ordered)
    }

    @Test("imapUnordered yields chunks in completion order, input order within a chunk")
    func imapUnorderedCompletionOrder() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        // Chunk 0 (items 0, 1) is held by its gate; chunks (2, 3) and (4, 5) finish first.
        let items = [GatedValue(0, gate: gate)] + (1..<6).map { GatedValue($0) }
        let stream = try pool.imapUnordered(TestTasks.gatedValue, items, chunksize: 2)
        var iterator = stream.makeAsyncIterator()
        var early: [Int] = []
        for _ in 0..<4 { early.append(try #require(try await iterator.next())) }
        TestEnvironment.open(gate)
        let late = [try await iterator.next(), try await iterator.next()]
        #expect(try await iterator.next() == nil)
        #expect(early == [2, 3, 4, 5] || early == [4, 5, 2, 3], "whole chunks, each in input order: \(early)")
        #expect(late == [0, 1])
    }

    @Test("a failed item throws at its position in imap")
    func imapFailure() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let stream = try pool.imap(TestTasks.failOn, (0..<6).map { Pair($0, 3) })
        var received: [Int] = []
        do {
            for try await value in stream { received.append(value) }
            Issue.record("the stream should throw")
        } catch let error as TaskError {
            #expect(error.index == 3)
        }
        #expect(received == [0, 1, 2])
    }

    @Test("an error thrown by the input surfaces from imap, imapUnordered and map; the pool stays usable")
    func failingInput() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let stream = try pool.imap(TestTasks.square, FailingInput(count: 5))
        var received: [Int] = []
        do {
            for try await value in stream { received.append(value) }
            Issue.record("imap should throw")
        } catch let error as PoolError {
            #expect(error.code == .inputFailed)
            #expect(error.message.contains("input ran dry"))
        }
        #expect(received == [0, 1, 4, 9, 16])

        let unordered = try pool.imapUnordered(TestTasks.square, FailingInput(count: 3), chunksize: 2)
        var count = 0
        await #expect { for try await _ in unordered { count += 1 } } throws: { ($0 as? PoolError)?.code == .inputFailed }
        #expect(count == 3)

        await #expect { try await pool.map(TestTasks.square, FailingInput(count: 4)) } throws: {
            ($0 as? PoolError)?.code == .inputFailed
        }
        #expect(try await pool.apply(TestTasks.square, 12) == 144)
    }

    @Test("a lazily consumed input starts tasks before it ends")
    func lazyInput() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let (input, continuation) = AsyncStream.makeStream(of: Int.self)
        let stream = try pool.imap(TestTasks.square, input, chunksize: 1)
        var iterator = stream.makeAsyncIterator()
        continuation.yield(3)
        #expect(try await iterator.next() == 9, "the first result arrives while the input is still open")
        continuation.yield(4)
        continuation.finish()
        #expect(try await iterator.next() == 16)
        #expect(try await iterator.next() == nil)
    }
}

/// Yields 0, 1, ... `count - 1`, then throws.
struct FailingInput: AsyncSequence, Sendable {
    let count: Int

    struct InputError: Error, CustomStringConvertible {
        var description: String { "input ran dry" }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let count: Int
        var next = 0

        mutating func next() async throws -> Int? {
            guard next < count else { throw InputError() }
            next += 1
            return next - 1
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(count: count) }
}
