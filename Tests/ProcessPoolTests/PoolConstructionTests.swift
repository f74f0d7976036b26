import Foundation
import PoolTestSupport
import ProcessPool
import Testing

/// Checklist 1 and 2: worker count, maxTasksPerChild, initializer.
@Suite("Pool construction", .timeLimit(.minutes(4)))
struct PoolConstructionTests {
    @Test("the default worker count is the usable CPU count, each worker its own process")
    func defaultWorkerCount() async throws {
        let pool = try TestEnvironment.pool(workers: nil)
        defer { pool.terminate() }
        #expect(pool.workerCount == ProcessPool.usableCPUCount)
        let pids = pool.workerPIDs
        #expect(pids.count == ProcessPool.usableCPUCount)
        #expect(Set(pids).count == pids.count)
        #expect(!pids.contains(getpid()))
        let children = TestEnvironment.childPIDs()
        for pid in pids { #expect(children.contains(pid), "worker \(pid) is a child of the test process") }
    }

    @Test("fewer than one worker is an error", arguments: [0, -1, -8])
    func invalidWorkerCount(workers: Int) {
        #expect(throws: PoolError.self) { try TestEnvironment.pool(workers: workers) }
        do {
            _ = try TestEnvironment.pool(workers: workers)
        } catch let error as PoolError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("at least 1"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("maxTasksPerChild must be at least 1 or nil", arguments: [0, -3])
    func invalidMaxTasks(limit: Int) {
        #expect { try TestEnvironment.pool(workers: 1, maxTasksPerChild: limit) } throws: { error in
            (error as? PoolError)?.code == .invalidArgument
        }
    }

    @Test("the initializer runs once in every worker before its first task, also in replacements")
    func initializerRunsOncePerWorker() async throws {
        // maxTasksPerChild 1: every chunk runs in a fresh process, so replacements are covered.
        let pool = try TestEnvironment.pool(workers: 2, maxTasksPerChild: 1) {
            $0.initializer = try? TestTasks.initialize.initializer(42)
        }
        let states = try await pool.mapAsync(TestTasks.initializerState, Array(0..<8), chunksize: 1).value
        #expect(states.count == 8)
        for state in states {
            #expect(state.first == 42, "initializer set the value before the task ran")
            #expect(state.second == 1, "initializer ran exactly once in this worker")
        }
        pool.close()
        try await pool.join()
    }

    @Test("a failing initializer fails the pending work with a clear error instead of respawning forever")
    func failingInitializer() async throws {
        let pool = try TestEnvironment.pool(workers: 2) {
            $0.initializer = try? TestTasks.failingInitializer.initializer(0)
        }
        defer { pool.terminate() }
        await #expect { try await pool.mapAsync(TestTasks.square, [1, 2, 3]).value } throws: { error in
            guard let error = error as? PoolError else { return false }
            return error.code == .initializerFailed && error.message.contains("rejected -1")
        }
    }
}
