import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import Testing

/// Workers that misbehave, and pools that come and go: nothing hangs, nothing leaks.
@Suite("Faults", .timeLimit(.minutes(4)))
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
        try await pool.join()
        let all = await collector.value
        let faults = all.compactMap { if case .workerFault(let pid, let message) = $0.kind { (pid, message) } else { nil } }
        // One uncharged death that switches to careful re-runs, then 1 + maxCrashRetries (2).
        #expect(faults.count == 4, "one per attempt: \(faults)")
        #expect(faults.allSatisfy { $0.1.contains("protocol violation") })
        let killed = all.filter { if case .workerExited(_, _, .signaled(SIGKILL), .protocolViolation, _) = $0.kind { true } else { false } }
        #expect(killed.count == 4)
    }

    @Test("an item that hangs past taskTimeout is stopped (SIGTERM, then SIGKILL) and fails alone; the rest complete")
    func taskTimeout() async throws {
        let pool = try TestEnvironment.pool(workers: 2) {
            $0.taskTimeout = .milliseconds(300)
            $0.terminationGrace = .milliseconds(200)
        }
        defer { pool.terminate() }
        let events = pool.events()
        let collector = Task { await collectEvents(events) }
        let never = TestEnvironment.temporaryDirectory().appendingPathComponent("never").path
        // Item 3 waits for a gate that never opens (the task gives up only after a minute).
        let items = (0..<8).map { GatedValue($0, gate: $0 == 3 ? never : "") }
        let result = try pool.mapAsync(TestTasks.gatedValue, items, chunksize: 2)
        do {
            _ = try await result.value
            Issue.record("the job should fail")
        } catch let error as PoolError {
            #expect(error.code == .timeout)
            #expect(error.message.contains("item 4 (index 3)"))
            #expect(error.message.contains("ran longer than 0.3s"))
            #expect(error.termination == .signaled(signal: SIGTERM))
            #expect(error.workerPID != nil)
        }
        #expect(try await pool.mapAsync(TestTasks.square, Array(0..<10)).value == (0..<10).map { $0 * $0 })
        pool.close()
        try await pool.join()
        let all = await collector.value
        let finished = Set(all.compactMap { $0.kind.successfullyFinishedItems }.filter { $0.job == 1 }.flatMap { $0.indices })
        #expect(finished == [0, 1, 2, 4, 5, 6, 7], "every other item of the job completed")
        #expect(all.contains { if case .workerExited(_, _, _, .timedOut, _) = $0.kind { true } else { false } })
    }

    @Test("a task that ignores SIGTERM is SIGKILLed after the grace")
    func timeoutEscalates() async throws {
        let pool = try TestEnvironment.pool(workers: 1) {
            $0.taskTimeout = .milliseconds(200)
            $0.terminationGrace = .milliseconds(100)
        }
        defer { pool.terminate() }
        await #expect { try await pool.apply(TestTasks.ignoreTermAndHang, 0) } throws: { error in
            guard let error = error as? PoolError else { return false }
            return error.code == .timeout && error.termination == .signaled(signal: SIGKILL)
        }
        #expect(try await pool.apply(TestTasks.square, 4) == 16, "a replacement worker took over")
    }

    @Test("taskTimeout must be positive")
    func invalidTimeout() {
        #expect { try TestEnvironment.pool(workers: 1) { $0.taskTimeout = .zero } } throws: {
            ($0 as? PoolError)?.code == .invalidArgument
        }
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
                try await pool.join()
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
