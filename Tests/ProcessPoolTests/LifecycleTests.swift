import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import Testing

/// Checklist 18 and 19, the scoped pool, and cleanup: no orphans, no leaked descriptors.
@Suite("Life cycle", .timeLimit(.minutes(4)))
struct LifecycleTests {
    @Test("after close(), submitting is an error, queued work finishes, and join() returns")
    func closeThenJoin() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        let pending = try pool.mapAsync(TestTasks.sleepThenReturn, (0..<12).map { Pair($0, 5) }, chunksize: 1)
        pool.close()
        #expect { try pool.applyAsync(TestTasks.square, 2) } throws: { ($0 as? PoolError)?.code == .notRunning }
        #expect { try pool.imap(TestTasks.square, [1]) } throws: { ($0 as? PoolError)?.code == .notRunning }
        let pids = pool.workerPIDs
        try await pool.join()
        #expect(try pending.get(timeout: .seconds(0)) == Array(0..<12), "queued work finished before join returned")
        for pid in pids { #expect(!TestEnvironment.isAlive(pid), "worker \(pid) exited and was reaped") }
    }

    @Test("join() on a running pool is an error")
    func joinRunning() throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        #expect { try pool.join() } throws: { ($0 as? PoolError)?.code == .stillRunning }
    }

    @Test("terminate() with 10,000 long tasks queued returns, kills the workers and fails every pending result")
    func terminateWithBacklog() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("never").path
        let long = (0..<10_000).map { GatedValue($0, gate: gate) }
        let mapped = try pool.mapAsync(TestTasks.gatedValue, long, chunksize: 1)
        let streamed = try pool.imap(TestTasks.gatedValue, Array(long.prefix(10)))
        let applied = try pool.applyAsync(TestTasks.gatedValue, GatedValue(1, gate: gate))
        let pids = pool.workerPIDs
        pool.terminate()
        for pid in pids { #expect(!TestEnvironment.isAlive(pid)) }
        let isTerminated: (any Error) -> Bool = { ($0 as? PoolError)?.code == .terminated }
        #expect(performing: { try mapped.get(timeout: .seconds(0)) }, throws: isTerminated)
        #expect(performing: { try applied.get(timeout: .seconds(0)) }, throws: isTerminated)
        await #expect(performing: { try await streamed.collect() }, throws: isTerminated)
        try await pool.join()
        #expect { try pool.applyAsync(TestTasks.square, 1) } throws: { ($0 as? PoolError)?.code == .notRunning }
    }

    @Test("withProcessPool closes and joins on return, terminates on throw")
    func scopedPool() async throws {
        var seen: [Int32] = []
        let result = try await withProcessPool(TestEnvironment.configuration()) { pool in
            seen = pool.workerPIDs
            return try await pool.mapAsync(TestTasks.square, [1, 2, 3]).value
        }
        #expect(result == [1, 4, 9])
        for pid in seen { #expect(!TestEnvironment.isAlive(pid)) }

        struct Stop: Error {}
        await #expect(throws: Stop.self) {
            try await withProcessPool(TestEnvironment.configuration()) { pool in
                seen = pool.workerPIDs
                _ = try pool.applyAsync(TestTasks.sleepThenReturn, Pair(1, 60_000))
                throw Stop()
            }
        }
        for pid in seen { #expect(!TestEnvironment.isAlive(pid)) }
    }

    @Test("a dropped pool takes its workers with it")
    func droppedPool() throws {
        var pids: [Int32] = []
        do {
            let pool = try TestEnvironment.pool(workers: 2)
            pids = pool.workerPIDs
        }
        #expect(TestEnvironment.eventually { pids.allSatisfy { !TestEnvironment.isAlive($0) } })
    }

    @Test("pools leave no descriptors and no processes behind")
    func noLeaks() async throws {
        // Warm up once so lazily opened runtime descriptors do not count as leaks.
        try await withProcessPool(TestEnvironment.configuration(workers: 1)) { pool in
            _ = try await pool.apply(TestTasks.square, 1)
        }
        let descriptors = TestEnvironment.openDescriptorCount()
        for round in 0..<20 {
            try await withProcessPool(TestEnvironment.configuration(workers: 2)) { pool in
                let value = try await pool.apply(TestTasks.square, round)
                #expect(value == round * round)
            }
            let pool = try TestEnvironment.pool(workers: 1)
            pool.terminate()
        }
        // Other tests run in parallel and open their own; allow them to settle, then compare.
        #expect(TestEnvironment.eventually { TestEnvironment.openDescriptorCount() <= descriptors + 16 })
    }
}
