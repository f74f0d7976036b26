import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import Testing

/// The launcher plumbing that needs no daemon: host lists, and workers started over standard
/// input and output by a plain command (`.command`), here `sh -c`.
@Suite("Launcher command lines", .timeLimit(.minutes(4)))
struct LauncherCommandTests {
    @Test("host lists parse with counts, and bad ones are refused with the reason")
    func hostLists() throws {
        #expect(try RemoteHost.parseList("h1,h2:4,user@h3:2,[::1]:3") == [
            RemoteHost("h1"), RemoteHost("h2", workers: 4), RemoteHost("user@h3", workers: 2), RemoteHost("::1", workers: 3),
        ])
        for bad in ["", "h1,", "-oProxyCommand=x", "h 1", "h1:0", "h1:x", "h1:99999", String(repeating: "h", count: 300)] {
            #expect(throws: PoolError.self, "\(bad)") { try RemoteHost.parseList(bad) }
        }
    }

    @Test("a worker started by a command over stdin/stdout: hello with its PID, results right, prints kept apart", .timeLimit(.minutes(2)))
    func commandLauncher() async throws {
        // `sh -c '{command}'` runs the worker's command line as ssh's far side would.
        let pool = try TestEnvironment.pool(workers: 2) {
            $0.launcher = .command(["/bin/sh", "-c", WorkerLauncher.commandPlaceholder])
            $0.remoteEnvironment = ["POOLMON_TEST_MARK": "it's quoted"]
            $0.captureOutput = true
        }
        defer { pool.terminate() }
        let events = pool.events()
        #expect(try await pool.map(TestTasks.square, Array(0..<100), chunksize: 3) == (0..<100).map { $0 * $0 })
        // A task's print goes to standard error, not into the protocol stream.
        #expect(try await pool.apply(TestTasks.printLine, "hello from a launched worker") >= 0)
        let pids = Set(try await pool.map(TestTasks.pid, Array(0..<20), chunksize: 1))
        pool.close()
        try await pool.join()
        var started: Set<Int32> = []
        var printed = false
        for await event in events {
            if case .workerStarted(_, let pid, let host) = event.kind, host != nil { started.insert(pid) }
            if case .workerOutput(_, let line) = event.kind, line.contains("hello from a launched worker") { printed = true }
        }
        #expect(pids.isSubset(of: started))
        #expect(printed)
    }

    @Test("a launcher that is not installed fails the pool's start with its name")
    func missingLauncher() throws {
        #expect {
            _ = try TestEnvironment.pool(workers: 1) { $0.launcher = .command(["/nonexistent/launcher"]) }
        } throws: { error in
            (error as? PoolError)?.code == .spawnFailed && "\(error)".contains("/nonexistent/launcher")
        }
    }
}
