import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import Testing

/// Checklist 22: a worker killed mid-task never hangs the pool.
@Suite("Crash recovery")
struct CrashRecoveryTests {
    @Test("a worker SIGKILLed mid-task is replaced and its items re-run; the results are right", .timeLimit(.minutes(2)))
    func killedWorker() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        var events = pool.events().makeAsyncIterator()
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        let items = (0..<10).map { GatedValue($0, gate: gate) }
        let result = try pool.mapAsync(TestTasks.gatedValue, items, chunksize: 2)
        // Wait until some worker reports running an item, then kill it.
        var victim: Int32 = 0
        while let event = await events.next() {
            if case .itemStarted(_, _, let pid) = event.kind {
                victim = pid
                break
            }
        }
        #expect(kill(victim, SIGKILL) == 0)
        var replacement: Int32 = 0
        var exitedBySignal = false
        while let event = await events.next() {
            switch event.kind {
            case .workerExited(_, victim, .signaled(SIGKILL), .crashed, _): exitedBySignal = true
            case .workerStarted(_, let pid, _) where exitedBySignal: replacement = pid
            default: break
            }
            if replacement != 0 { break }
        }
        #expect(exitedBySignal)
        #expect(replacement != 0 && replacement != victim)
        TestEnvironment.open(gate)
        #expect(try result.get(timeout: .seconds(60)) == Array(0..<10))
        #expect(!pool.workerPIDs.contains(victim))
    }

    @Test("an item that keeps killing its workers fails only its job, naming the PID and the signal")
    func poisonItem() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let poisoned = try pool.mapAsync(TestTasks.crashOn, (0..<20).map { Pair($0, 7) }, chunksize: 3)
        let healthy = try pool.mapAsync(TestTasks.square, Array(0..<20), chunksize: 3)
        do {
            _ = try poisoned.get(timeout: .seconds(120))
            Issue.record("the poisoned job should fail")
        } catch let error as PoolError {
            #expect(error.code == .workerCrashed)
            #expect(error.termination == .signaled(signal: SIGABRT))
            let pid = try #require(error.workerPID)
            #expect(error.message.contains("item 8 (index 7)"), "people count items from 1; the index is kept")
            #expect(error.message.contains("\(pid)"))
            #expect(error.message.contains("SIGABRT"))
        }
        #expect(try healthy.get(timeout: .seconds(120)) == (0..<20).map { $0 * $0 })
        #expect(try await pool.apply(TestTasks.square, 6) == 36, "the pool stays usable")
        #expect(pool.workerPIDs.count == 2)
    }

    @Test("with imap, a poison item fails at its position and the rest still arrive")
    func poisonItemInImap() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let stream = try pool.imap(TestTasks.crashOn, (0..<6).map { Pair($0, 4) }, chunksize: 1)
        var values: [Int] = []
        while true {
            do {
                guard let value = try stream.next(timeout: .seconds(120)) else { break }
                values.append(value)
            } catch let error as PoolError where error.code == .workerCrashed {
                values.append(-1)
            }
        }
        #expect(values == [0, 1, 2, 3, -1, 5])
    }
}
