import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import Testing

/// Checklist 22: a worker killed mid-task never hangs the pool.
@Suite("Crash recovery", .timeLimit(.minutes(4)))
struct CrashRecoveryTests {
    @Test("a worker killed while holding a run of chunks (one command) gets each unfinished chunk requeued on its own", .timeLimit(.minutes(2)))
    func killedWorkerHoldingRun() async throws {
        // One worker of tiny items takes its fill of consecutive chunks in one command. Item 40
        // waits on a gate; the worker is killed there. Chunks 0-19 are done; chunks 20-49 (each
        // of two items) must each go back to the queue, carefully, and every item run once.
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        var events = pool.events().makeAsyncIterator()
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("run-gate").path
        let items = (0..<100).map { $0 == 40 ? GatedValue($0, gate: gate) : GatedValue($0) }
        let result = try pool.mapAsync(TestTasks.gatedValue, items, chunksize: 2)
        var victim: Int32 = 0
        var runs: [(firstChunk: Int, chunks: Int)] = []
        var finished = Set<Int>()
        while finished.count < 40, let event = await events.next() {
            if let run = event.kind.dispatchedChunks {
                victim = run.pid
                runs.append((run.firstChunk, run.chunks))
            }
            if let (_, indices) = event.kind.successfullyFinishedItems { finished.formUnion(indices) }
        }
        #expect(finished == Set(0..<40))
        #expect(runs.contains { $0.chunks > 1 && $0.firstChunk <= 20 && 20 < $0.firstChunk + $0.chunks },
                "the gated item's chunk went out in a run of several: \(runs)")
        #expect(kill(victim, SIGKILL) == 0)
        var requeued: [(chunk: Int, start: Int, count: Int)] = []
        while let event = await events.next() {
            if case .chunkRequeued(_, let chunk, let start, let count, _) = event.kind { requeued.append((chunk, start, count)) }
            if case .workerExited(_, victim, _, _, _) = event.kind { break }
        }
        TestEnvironment.open(gate)
        #expect(requeued.map(\.chunk) == Array(20..<50))
        #expect(requeued.allSatisfy { $0.start == 2 * $0.chunk && $0.count == 2 })
        #expect(try result.get(timeout: .seconds(60)) == Array(0..<100))
    }

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
