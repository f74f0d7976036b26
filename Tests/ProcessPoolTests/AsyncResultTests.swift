import Foundation
import PoolTestSupport
import ProcessPool
import Testing

/// Checklist 16 and 17: timeouts, readiness, and what cannot be encoded.
@Suite("Async results and encoding", .timeLimit(.minutes(4)))
struct AsyncResultTests {
    @Test("get(timeout:) throws a timeout; wait(timeout:) does not; successful() before ready is an error")
    func timeoutsAndReadiness() throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        let result = try pool.applyAsync(TestTasks.gatedValue, GatedValue(5, gate: gate))
        #expect { try result.get(timeout: .milliseconds(20)) } throws: { ($0 as? PoolError)?.code == .timeout }
        #expect(result.wait(timeout: .milliseconds(20)) == false)
        #expect(result.isReady == false)
        #expect { try result.successful() } throws: { ($0 as? PoolError)?.code == .notReady }
        TestEnvironment.open(gate)
        #expect(result.wait(timeout: .seconds(60)))
        #expect(result.isReady)
        #expect(try result.successful())
        #expect(try result.get() == 5)
    }

    @Test("a result that cannot be encoded fails that item clearly, and the worker survives")
    func unencodableResult() async throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let before = pool.workerPIDs
        await #expect { try await pool.apply(TestTasks.measure, -1) } throws: { error in
            guard let error = error as? PoolError else { return false }
            return error.code == .encoding && error.message.contains("cannot be encoded")
        }
        #expect(try await pool.apply(TestTasks.measure, 2) == Measurement(value: 2))
        #expect(pool.workerPIDs == before, "the same worker process went on")
    }

    @Test("an argument that cannot be encoded is refused at submission, naming the item")
    func unencodableArgument() throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let items = [Measurement(value: 1), Measurement(value: .nan)]
        #expect { try pool.mapAsync(TestTasks.echoMeasurement, items) } throws: { error in
            guard let error = error as? PoolError else { return false }
            return error.code == .encoding && error.message.contains("argument 1")
        }
        #expect(try pool.apply(TestTasks.echoMeasurement, Measurement(value: 3)) == Measurement(value: 3))
    }

    @Test("an unknown task name is a precise error, from the worker or at once with a registry")
    func unknownTask() async throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        await #expect { try await pool.apply(TestTasks.missing, 1) } throws: { error in
            guard let error = error as? PoolError else { return false }
            return error.code == .unknownTask && error.message.contains("noSuchTask")
        }
        let checked = try TestEnvironment.pool(workers: 1) { $0.registry = TestTasks.registry }
        defer { checked.terminate() }
        #expect { try checked.applyAsync(TestTasks.missing, 1) } throws: { ($0 as? PoolError)?.code == .unknownTask }
    }
}
