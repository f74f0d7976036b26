import Foundation
import PoolTestSupport
import ProcessPool
import Synchronization
import Testing

/// `imap`/`imapUnordered` keep a bounded window: items read from the input and not yet taken by
/// the consumer. Every assertion is an invariant (reads never exceed consumed + window + the
/// one item looked ahead), checked at moments the test controls, never a rate or a duration.
@Suite("Backpressure", .timeLimit(.minutes(4)))
struct BackpressureTests {
    @Test("a lazy Sequence is read only as the consumer takes results, and reading stops when the stream is left")
    func lazySequenceWindow() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let recorder = EventRecorder(pool)
        let input = ReadCountingSequence(limit: 1_000_000)
        let stream = try pool.imap(TestTasks.square, input, chunksize: 2, window: 8, label: "windowed")
        // Submission read the first window (8 items) and looked at one more, nothing else.
        #expect(input.reads <= 9, "\(input.reads) items read at submission")
        #expect(await eventually { recorder.job("windowed") != nil })
        let job = try #require(recorder.job("windowed"))
        // The first window runs to its end; nothing is consumed, so nothing more may be read.
        #expect(await eventually { recorder.finishedItems(of: job) >= 8 })
        #expect(input.reads <= 9, "\(input.reads) items read with none consumed (window 8)")

        var consumed = 0
        for try await value in stream {
            #expect(value == consumed * consumed)
            consumed += 1
            #expect(input.reads <= consumed + 8 + 1, "\(input.reads) read after \(consumed) consumed")
            if consumed == 300 { break }
        }
        // Leaving the stream cancels the job, and its feeder stops reading.
        #expect(await eventually { recorder.wasCancelled(job) })
        #expect(input.reads <= 300 + 8 + 1, "\(input.reads)")
        #expect(try await pool.apply(TestTasks.square, 9) == 81)
    }

    @Test("a long lazy input comes back whole and in order through a small window", arguments: [JobMode.imap, .imapUnordered])
    func longInputSmallWindow(mode: JobMode) async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let count = 20_000  // several times the point at which a job lets go of delivered items
        let input = ReadCountingSequence(limit: count)
        let stream = mode == .imap
            ? try pool.imap(TestTasks.square, input, chunksize: 3, window: 60)
            : try pool.imapUnordered(TestTasks.square, input, chunksize: 3, window: 60)
        var values: [Int] = []
        values.reserveCapacity(count)
        for try await value in stream {
            values.append(value)
            #expect(input.reads <= values.count + 60 + 1)
        }
        let expected = (0..<count).map { $0 * $0 }
        #expect(values.count == count)
        #expect((mode == .imap ? values : values.sorted()) == expected)
    }

    @Test("an AsyncSequence input is read only within the window, a chunk at a time")
    func asyncSequenceWindow() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let recorder = EventRecorder(pool)
        let input = ReadCountingAsyncSequence(limit: 100_000)
        let stream = try pool.imapUnordered(TestTasks.square, input, chunksize: 4, window: 16, label: "async")
        #expect(await eventually { recorder.job("async").map { recorder.finishedItems(of: $0) >= 16 } ?? false })
        #expect(input.reads <= 16, "\(input.reads) read with none consumed (window 16)")
        var consumed = 0
        var sum = 0
        for try await value in stream {
            sum += value
            consumed += 1
            #expect(input.reads <= consumed + 16)
            if consumed == 1_000 { break }
        }
        #expect(sum > 0)
        let job = try #require(recorder.job("async"))
        #expect(await eventually { recorder.wasCancelled(job) })
        // The chunks went to the pool in whole chunks of 4 (numbering from item 0 holds).
        #expect(recorder.all.allSatisfy { kind in
            if case .chunkDispatched(job, _, let start, let count, _, _) = kind { return start % 4 == 0 && count == 4 }
            return true
        })
    }

    @Test("closing the pool lifts the window: an unread stream's work finishes and join returns")
    func closeLiftsWindow() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        let input = ReadCountingSequence(limit: 5_000)
        let stream = try pool.imap(TestTasks.square, input, chunksize: 5, window: 10)
        pool.close()
        try await pool.join()
        #expect(input.reads == 5_000)
        var count = 0
        for try await value in stream {
            #expect(value == count * count)
            count += 1
        }
        #expect(count == 5_000)
    }

    @Test("a window below 1 is refused")
    func invalidWindow() throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        #expect { try pool.imap(TestTasks.square, [1, 2], window: 0) } throws: { ($0 as? PoolError)?.code == .invalidArgument }
    }
}

/// 0, 1, 2, … up to `limit`, counting the items taken from it.
final class ReadCountingSequence: Sequence, Sendable {
    let limit: Int
    fileprivate let taken = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    var reads: Int { taken.load(ordering: .relaxed) }

    struct Iterator: IteratorProtocol {
        let owner: ReadCountingSequence
        var position = 0

        mutating func next() -> Int? {
            guard position < owner.limit else { return nil }
            owner.taken.add(1, ordering: .relaxed)
            defer { position += 1 }
            return position
        }
    }

    func makeIterator() -> Iterator { Iterator(owner: self) }
}

/// The asynchronous form of ``ReadCountingSequence``.
final class ReadCountingAsyncSequence: AsyncSequence, Sendable {
    typealias Element = Int
    let limit: Int
    fileprivate let taken = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    var reads: Int { taken.load(ordering: .relaxed) }

    struct AsyncIterator: AsyncIteratorProtocol {
        let owner: ReadCountingAsyncSequence
        var position = 0

        mutating func next() async -> Int? {
            guard position < owner.limit else { return nil }
            owner.taken.add(1, ordering: .relaxed)
            defer { position += 1 }
            return position
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(owner: self) }
}
