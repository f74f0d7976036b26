import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import Testing

/// Workers that misbehave, and pools that come and go: nothing hangs, nothing leaks.
@Suite("Faults")
struct FaultTests {
    @Test("a worker that writes a malformed or oversized frame is killed and replaced; the parent carries on",
          arguments: [0, 1, 2])
    func garbageFrames(kind: Int) async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let events = pool.events()
        let collector = Task { await collectEvents(events) }
        await #expect { try await pool.apply(TestTasks.writeGarbage, kind) } throws: { error in
            (error as? PoolError)?.code == .workerCrashed
        }
        #expect(try await pool.mapAsync(TestTasks.square, Array(0..<20), chunksize: 1).value == (0..<20).map { $0 * $0 })
        #expect(pool.workerPIDs.count == 2)
        pool.close()
        try pool.join()
        let all = await collector.value
        let faults = all.compactMap { if case .workerFault(let pid, let message) = $0.kind { (pid, message) } else { nil } }
        #expect(faults.count == 3, "one per attempt: \(faults)")
        #expect(faults.allSatisfy { $0.1.contains("protocol violation") })
        let killed = all.filter { if case .workerExited(_, _, .signaled(SIGKILL), .protocolViolation) = $0.kind { true } else { false } }
        #expect(killed.count == 3)
    }

    @Test("200 pools created and destroyed leave no process, zombie or descriptor behind")
    func manyPools() async throws {
        try await withProcessPool(TestEnvironment.configuration(workers: 1)) { pool in
            _ = try await pool.apply(TestTasks.square, 1)
        }
        let descriptors = TestEnvironment.openDescriptorCount()
        var spawned = Set<Int32>()
        for round in 0..<200 {
            let pool = try TestEnvironment.pool(workers: 1)
            let pids = pool.workerPIDs
            spawned.formUnion(pids)
            if round % 2 == 0 {
                #expect(try await pool.apply(TestTasks.square, round) == round * round)
                pool.close()
                try pool.join()
            } else {
                pool.terminate()
            }
            // Reaped as soon as the pool is done: never a zombie, never alive.
            #expect(pids.count == 1)
            for pid in pids { #expect(!TestEnvironment.isAlive(pid)) }
        }
        #expect(spawned.count == 200)
        let children = TestEnvironment.childPIDs()
        #expect(spawned.isDisjoint(with: children), "no worker of these pools is still a child, zombie or not")
        // Other tests run in parallel and hold descriptors of their own: let them settle.
        #expect(TestEnvironment.eventually { TestEnvironment.openDescriptorCount() <= descriptors + 16 })
    }
}
