import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import Synchronization
import Testing

/// Checklist 20 and 21, and live resizing.
@Suite("Workers", .timeLimit(.minutes(4)))
struct WorkerManagementTests {
    @Test("with maxTasksPerChild, worker PIDs rotate and results stay correct")
    func maxTasksPerChild() async throws {
        let pool = try TestEnvironment.pool(workers: 2, maxTasksPerChild: 2)
        defer { pool.terminate() }
        let pids = try await pool.mapAsync(TestTasks.pid, Array(0..<20), chunksize: 1).value
        let distinct = Set(pids)
        #expect(distinct.count >= 10, "20 chunks at 2 per child need at least 10 processes, saw \(distinct.count)")
        for pid in distinct { #expect(pids.filter { $0 == pid }.count <= 2) }
        #expect(try await pool.mapAsync(TestTasks.square, Array(0..<50), chunksize: 3).value == (0..<50).map { $0 * $0 })
    }

    @Test("the pool's own threads are named for top -H, perf and gdb: the IO thread, and each worker's result flusher")
    func threadNames() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        _ = try await pool.mapAsync(TestTasks.square, Array(0..<10), chunksize: 1).value
        func threadNames(of pid: pid_t) -> [String] {
            let tasks = "/proc/\(pid)/task"
            let ids = (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []
            return ids.compactMap { try? String(contentsOfFile: "\(tasks)/\($0)/comm", encoding: .utf8) }
                .map { $0.trimmingCharacters(in: .newlines) }
        }
        #expect(threadNames(of: getpid()).contains("ProcessPool IO"))
        let workers = pool.workerPIDs
        #expect(workers.count == 2)
        for pid in workers {
            #expect(TestEnvironment.eventually { threadNames(of: pid).contains("result flusher") },
                    "worker \(pid)'s threads: \(threadNames(of: pid))")
        }
    }

    @Test("never more than N tasks run at once on N workers", arguments: [1, 2, 3])
    func concurrencyLimit(workers: Int) async throws {
        let pool = try TestEnvironment.pool(workers: workers)
        defer { pool.terminate() }
        let intervals = try await pool.mapAsync(TestTasks.interval, Array(repeating: 3, count: 24), chunksize: 1).value
        // Sweep over start/end points: the number of tasks running at once.
        var points: [(UInt64, Int)] = []
        for interval in intervals {
            points.append((interval[0], 1))
            points.append((interval[1], -1))
        }
        points.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var running = 0
        var peak = 0
        for point in points {
            running += point.1
            peak = max(peak, running)
        }
        #expect(peak <= workers)
        #expect(Set(intervals.map { $0[2] }).count <= workers)
    }

    @Test("growing starts new workers at once; shrinking retires workers after their chunk", .timeLimit(.minutes(2)))
    func resize() async throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let first = pool.workerPIDs
        try pool.resize(workers: 3)
        #expect(pool.workerCount == 3)
        #expect(TestEnvironment.eventually { pool.workerPIDs.count == 3 })
        #expect(Set(pool.workerPIDs).isSuperset(of: first))
        #expect(try await pool.mapAsync(TestTasks.square, Array(0..<30), chunksize: 1).value == (0..<30).map { $0 * $0 })

        // Shrink while all three workers hold a gated item: the two retired ones must finish
        // their item (no re-run, no crash) and then exit cleanly.
        var events = pool.events().makeAsyncIterator()
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        let busy = try pool.mapAsync(TestTasks.gatedValue, (0..<3).map { GatedValue($0, gate: gate) }, chunksize: 1)
        var holding = Set<Int32>()
        while holding.count < 3, let event = await events.next() {
            if let run = event.kind.dispatchedChunks { holding.insert(run.pid) }
        }
        try pool.resize(workers: 1)
        TestEnvironment.open(gate)
        #expect(try busy.get(timeout: .seconds(60)) == [0, 1, 2])
        var retired = 0
        while retired < 2, let event = await events.next() {
            switch event.kind {
            case .workerExited(_, _, let termination, let reason, _):
                #expect(reason == .retired && termination == .exited(code: 0), "\(reason), \(termination)")
                retired += 1
            case .itemRetried, .chunkRequeued:
                Issue.record("a retired worker's item was re-run: \(event.kind)")
            default:
                break
            }
        }
        #expect(retired == 2)
        #expect(TestEnvironment.eventually { pool.workerPIDs.count == 1 })
        #expect(try await pool.apply(TestTasks.square, 7) == 49)
        #expect { try pool.resize(workers: 0) } throws: { ($0 as? PoolError)?.code == .invalidArgument }
    }
}
