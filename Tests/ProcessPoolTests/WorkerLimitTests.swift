import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import TerminalTestSupport
import Testing

/// A pool that cannot start more workers (descriptors or processes run out) keeps the workers it
/// has, says why, and finishes its jobs; kills the caller asks for are not held against items.
@Suite("Worker limits and requested kills", .timeLimit(.minutes(4)))
struct WorkerLimitTests {
    @Test("past the descriptor limit the pool stays at the size it has, says why, and the job completes")
    func growPastDescriptorLimit() throws {
        let output = try ChildProcess.run(TestEnvironment.workerPath, ["scenario", "grow-past-descriptor-limit"],
                                          timeout: .seconds(180))
        let lines = output.standardOutput.split(separator: "\n").map(String.init)
        #expect(output.status == 0, "\(output.standardOutput)\n\(output.standardError)")
        #expect(lines.contains("RESULT right"), "\(lines)")
        let size = try #require(lines.first { $0.hasPrefix("WORKERS ") }).split(separator: " ").compactMap { Int($0) }
        #expect(size.count == 2 && size[0] >= 2 && size[0] < 40, "the pool grew as far as it could: \(lines)")
        #expect(size.count == 2 && size[0] == size[1], "the size it reports is the workers it has: \(lines)")
        let faults = lines.filter { $0.hasPrefix("FAULT ") }
        #expect(!faults.isEmpty)
        #expect(faults.contains { $0.contains("too many open files") && $0.contains("EMFILE") && $0.contains("ulimit -n") }, "\(faults)")
        #expect(faults.contains { $0.contains("the pool stays at") }, "\(faults)")
        #expect(!output.standardOutput.contains("Bad file descriptor"))
    }

    @Test("a worker killed four times through signalWorker while it runs the same item: the job completes",
          .timeLimit(.minutes(3)))
    func requestedKillsAreNotCharged() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        // Item 3 waits for the gate: whichever worker runs it is busy with it until it is killed.
        let items = (0..<6).map { GatedValue($0, gate: $0 == 3 ? gate : "") }
        var events = pool.events().makeAsyncIterator()
        let result = try pool.mapAsync(TestTasks.gatedValue, items, chunksize: 1)
        var killed: Set<Int32> = []
        watching: while killed.count < 5, let event = await events.next() {
            let pid: Int32
            switch event.kind {
            case .jobCompleted: break watching  // too soon: it failed
            // The first time its start may go unreported (fast items before it): the worker it
            // was handed to. Re-runs report every start.
            case .itemStarted(_, 3, let by) where !killed.isEmpty: pid = by
            default:
                // Chunk 3 may go out alone or in a run of consecutive chunks.
                guard killed.isEmpty, let run = event.kind.dispatchedChunks,
                      (run.firstChunk..<(run.firstChunk + run.chunks)).contains(3) else { continue }
                pid = run.pid
            }
            guard !killed.contains(pid) else { continue }
            try pool.signalWorker(pid: pid, signal: SIGKILL)
            killed.insert(pid)
        }
        #expect(killed.count == 5)
        TestEnvironment.open(gate)
        #expect(try await result.value == Array(0..<6))
        for pid in killed { #expect(!pool.workerPIDs.contains(pid)) }
    }

    @Test("signalWorker refuses a process that is not a worker of the pool, and non-signals")
    func signalWorkerRefusesStrangers() throws {
        let pool = try TestEnvironment.pool(workers: 1)
        #expect { try pool.signalWorker(pid: getpid(), signal: SIGTERM) } throws: { ($0 as? PoolError)?.code == .invalidArgument }
        let worker = try #require(pool.workerPIDs.first)
        #expect { try pool.signalWorker(pid: worker, signal: 0) } throws: { ($0 as? PoolError)?.code == .invalidArgument }
        pool.close()
        try pool.join()
        #expect { try pool.signalWorker(pid: worker, signal: SIGKILL) } throws: { ($0 as? PoolError)?.code == .invalidArgument }
    }
}
