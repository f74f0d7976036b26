import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import Testing

/// Issue 12: a dead worker's `workerExited` carries its death report (schema 3).
@Suite("Death reports", .timeLimit(.minutes(4)))
struct DeathReportTests {
    @Test("a worker SIGKILLed mid-chunk: lifetime, peak RSS from wait4, the item it was on, the chunk requeued", .timeLimit(.minutes(2)))
    func killedWorkerReport() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        var events = pool.events().makeAsyncIterator()
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        let result = try pool.mapAsync(TestTasks.gatedValue, (0..<10).map { GatedValue($0, gate: gate) }, chunksize: 2)
        var victim: Int32 = 0
        var running: (job: Int, index: Int)?
        while let event = await events.next() {
            if case .itemStarted(let job, let index, let pid) = event.kind {
                victim = pid
                running = (job, index)
                break
            }
        }
        #expect(kill(victim, SIGKILL) == 0)
        var details: WorkerExitDetails?
        var requeuedEvents: [WorkerExitDetails.Requeued] = []
        while let event = await events.next() {
            if case .chunkRequeued(let job, let chunk, let start, let count, _) = event.kind {
                requeuedEvents.append(WorkerExitDetails.Requeued(job: job, chunk: chunk, start: start, count: count))
            }
            if case .workerExited(_, victim, .signaled(SIGKILL), .crashed, let report) = event.kind {
                details = report
                break
            }
        }
        TestEnvironment.open(gate)
        #expect(try result.get(timeout: .seconds(60)) == Array(0..<10))
        let report = try #require(details)
        #expect(report.lifetime > 0)
        #expect((report.peakRSSKilobytes ?? 0) > 0, "ru_maxrss of the reaped worker")
        #expect(!report.oomKilled, "a plain SIGKILL is not an OOM kill")
        #expect(report.job == running?.job)
        #expect(report.index == running?.index)
        #expect(!report.requeued.isEmpty)
        #expect(report.requeued == requeuedEvents, "the report names what the chunkRequeued events put back")
        // It survives the log.
        let event = PoolEvent(time: 1, kind: .workerExited(slot: 0, pid: victim, termination: .signaled(signal: SIGKILL),
                                                           reason: .crashed, details: report))
        #expect(try PoolEvent(jsonLine: event.jsonLine) == event)
    }
}
