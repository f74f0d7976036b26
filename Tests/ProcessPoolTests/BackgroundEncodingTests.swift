import Foundation
import PoolTestSupport
import ProcessPool
import Testing

/// Big map inputs are encoded off the caller's thread: the job exists at once, and a job
/// submitted right after it is not held up by the first one's encoding (issue 13: with three
/// million items, `product` was submitted only after `sum` had been encoded, about 10 s).
@Suite("mapAsync of a big input encodes in the background", .timeLimit(.minutes(4)))
struct BackgroundEncodingTests {
    @Test("two big jobs: both submitted before the first's input is all queued; results exact and in order; chunks queue job by job")
    func twoBigJobs() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let events = pool.events(bufferingLimit: 1 << 20)
        let collector = Task { await collectEvents(events) }
        let count = ProcessPool.backgroundEncodingThreshold * 2
        let input = Array(0..<count)
        let first = try pool.mapAsync(TestTasks.square, input, chunksize: 500)
        let second = try pool.mapAsync(TestTasks.square, input, chunksize: 500)
        #expect(try await first.value == input.map { $0 * $0 })
        #expect(try await second.value == input.map { $0 * $0 })
        pool.close()
        try await pool.join()
        let all = await collector.value
        let submitted = all.compactMap { event -> Int? in
            if case .jobSubmitted(let job) = event.kind { return job.id }
            return nil
        }
        #expect(submitted.count == 2)
        let queued = all.enumerated().compactMap { position, event -> (position: Int, job: Int, count: Int)? in
            if case .chunksQueued(let job, _, _, _, let count, _) = event.kind { return (position, job, count) }
            return nil
        }
        let firstJob = try #require(submitted.first), secondJob = try #require(submitted.last)
        #expect(queued.filter { $0.job == firstJob }.reduce(0) { $0 + $1.count } == count)
        #expect(queued.filter { $0.job == secondJob }.reduce(0) { $0 + $1.count } == count)
        // The second job was submitted before the first's last slice was queued...
        let secondSubmitted = try #require(all.firstIndex { if case .jobSubmitted(let job) = $0.kind { job.id == secondJob } else { false } })
        let firstLastQueued = try #require(queued.last { $0.job == firstJob }).position
        #expect(secondSubmitted < firstLastQueued, "the second job did not wait for the first's encoding")
        // ...and its chunks still queue after the first's, in submission order (a FIFO, as Python's).
        #expect(firstLastQueued < (queued.first { $0.job == secondJob }?.position ?? .max))
    }

    @Test("below the threshold an array is encoded on the caller, as before: the job's input is queued with it")
    func smallInputUnchanged() async throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let result = try pool.mapAsync(TestTasks.square, Array(0..<100), chunksize: 7)
        #expect(try await result.value == (0..<100).map { $0 * $0 })
    }
}
