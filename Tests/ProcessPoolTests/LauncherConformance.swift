import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import Testing

/// What every launcher must do as well as local workers (DESIGN.md §3, §12), run by the ssh and
/// srun suites against their daemons: results in order, chunking, a killed worker replaced with
/// the results still right, `terminate()` stopping every remote worker.
enum LauncherConformance {
    /// A pool of `PoolTestWorker`s started through `launcher`.
    /// - Parameter environment: the launcher process's environment (srun: `SLURM_CONF`).
    static func pool(_ launcher: WorkerLauncher, workers: Int = 2, environment: [String: String]? = nil) throws -> ProcessPool {
        try TestEnvironment.pool(workers: workers) {
            $0.launcher = launcher
            $0.environment = environment
        }
    }

    /// The workers' announcements so far, by PID: the host each reported.
    static func startedWorkers(_ events: [PoolEvent]) -> [Int32: String?] {
        var started: [Int32: String?] = [:]
        for event in events { if case .workerStarted(_, let pid, let host) = event.kind { started[pid] = host } }
        return started
    }

    /// map, imap and imap_unordered with chunk sizes 1, 7 and the default give a plain map's
    /// results; the PIDs in events are the processes that ran the tasks (the far side's, not the
    /// launcher's), with this machine's host name.
    static func resultsInOrderAndChunking(_ launcher: WorkerLauncher, environment: [String: String]? = nil) async throws {
        let pool = try pool(launcher, environment: environment)
        defer { pool.terminate() }
        let events = pool.events(bufferingLimit: 100_000)
        let input = Array(0..<200)
        for chunksize in [1, 7, nil] as [Int?] {
            #expect(try await pool.map(TestTasks.square, input, chunksize: chunksize) == input.map { $0 * $0 }, "chunksize \(String(describing: chunksize))")
        }
        var streamed: [Int] = []
        for try await value in try pool.imap(TestTasks.square, input, chunksize: 5) { streamed.append(value) }
        #expect(streamed == input.map { $0 * $0 })
        var unordered: [Int] = []
        for try await value in try pool.imapUnordered(TestTasks.square, input, chunksize: 3) { unordered.append(value) }
        #expect(unordered.sorted() == input.map { $0 * $0 })
        let ranOn = Set(try await pool.map(TestTasks.pid, Array(0..<40), chunksize: 1))
        pool.close()
        try await pool.join()
        var all: [PoolEvent] = []
        for await event in events { all.append(event) }
        let started = startedWorkers(all)
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)
        #expect(!started.isEmpty)
        #expect(started.values.allSatisfy { $0 == String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }, "every worker reported this host: \(started)")
        #expect(ranOn.isSubset(of: Set(started.keys)), "the PIDs that ran tasks \(ranOn) are the announced ones \(started.keys)")
        // The announced PIDs are the workers themselves: PoolTestWorker, not ssh or srun.
        for pid in ranOn {
            let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            #expect(command.isEmpty || command.contains("PoolTestWorker"), "pid \(pid) runs \(command)")
        }
    }

    /// A remote worker SIGKILLed mid-item: its launcher ends, the worker is replaced (a new
    /// announced PID), its items run again, and the results are right.
    static func killedWorkerIsReplaced(_ launcher: WorkerLauncher, environment: [String: String]? = nil) async throws {
        let pool = try pool(launcher, environment: environment)
        defer { pool.terminate() }
        var events = pool.events().makeAsyncIterator()
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        let items = (0..<10).map { GatedValue($0, gate: gate) }
        let result = try pool.mapAsync(TestTasks.gatedValue, items, chunksize: 2)
        var victim: Int32 = 0
        while let event = await events.next() {
            if case .itemStarted(_, _, let pid) = event.kind {
                victim = pid
                break
            }
        }
        #expect(kill(victim, SIGKILL) == 0)
        var exited = false
        var replacement: Int32 = 0
        var fault = ""
        while let event = await events.next() {
            switch event.kind {
            case .workerExited(_, victim, _, .crashed, _): exited = true
            case .workerFault(victim, let message): fault = message
            case .workerStarted(_, let pid, let host) where exited:
                #expect(host != nil)
                replacement = pid
            default: break
            }
            if replacement != 0 { break }
        }
        #expect(exited)
        #expect(fault.contains(launcher.name), "the launcher's report of the death: \(fault)")
        #expect(replacement != 0 && replacement != victim)
        TestEnvironment.open(gate)
        #expect(try result.get(timeout: .seconds(60)) == Array(0..<10))
        #expect(!pool.workerPIDs.contains(victim))
    }

    /// `terminate()` with every worker in a long item: all remote workers are gone within seconds.
    static func terminateStopsRemoteWorkers(_ launcher: WorkerLauncher, environment: [String: String]? = nil) async throws {
        let pool = try pool(launcher, environment: environment)
        var events = pool.events().makeAsyncIterator()
        let result = try pool.mapAsync(TestTasks.sleepThenReturn, (0..<4).map { Pair($0, 60_000) }, chunksize: 1)
        var busy: Set<Int32> = []
        while busy.count < 2, let event = await events.next() {
            if case .itemStarted(_, _, let pid) = event.kind { busy.insert(pid) }
        }
        #expect(busy.count == 2)
        pool.terminate()
        #expect(throws: PoolError.self) { try result.get(timeout: .seconds(10)) }
        #expect(TestEnvironment.eventually(within: 10) { busy.allSatisfy { !TestEnvironment.isAlive($0) } },
                "remote workers \(busy) still running after terminate()")
    }
}
