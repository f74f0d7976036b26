import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import TerminalTestSupport
import Testing

/// Workers started through ssh, against an sshd of the test's own on a loopback port (started and
/// stopped by each test, in a temporary directory).
@Suite("ssh launcher", .timeLimit(.minutes(4)), .serialized,
       .enabled(if: LoopbackSSHD.shouldRun, "skipped: \(LoopbackSSHD.unavailableReason ?? "") (under CI=true this fails instead)"))
struct SSHLauncherTests {
    static func launcher(_ sshd: LoopbackSSHD, hosts: [RemoteHost] = [RemoteHost("127.0.0.1", workers: 2)]) -> WorkerLauncher {
        .ssh(hosts: hosts, sshCommand: sshd.sshCommand)
    }

    @Test("results in order and chunking, from workers that report their own host and PID", .timeLimit(.minutes(2)))
    func resultsAndChunking() async throws {
        let sshd = try LoopbackSSHD()
        defer { sshd.stop() }
        try await LauncherConformance.resultsInOrderAndChunking(Self.launcher(sshd))
    }

    @Test("a remote worker killed mid-item is replaced, its items re-run, ssh's 255 reported as such", .timeLimit(.minutes(2)))
    func killedWorker() async throws {
        let sshd = try LoopbackSSHD()
        defer { sshd.stop() }
        try await LauncherConformance.killedWorkerIsReplaced(Self.launcher(sshd))
    }

    @Test("terminate() stops every remote worker, even in a long item", .timeLimit(.minutes(2)))
    func terminate() async throws {
        let sshd = try LoopbackSSHD()
        defer { sshd.stop() }
        try await LauncherConformance.terminateStopsRemoteWorkers(Self.launcher(sshd))
    }

    @Test("hosts with worker counts: two names for this machine, one worker each way", .timeLimit(.minutes(2)))
    func twoHosts() async throws {
        let sshd = try LoopbackSSHD()
        defer { sshd.stop() }
        let pool = try TestEnvironment.pool(workers: nil) {
            $0.launcher = Self.launcher(sshd, hosts: [RemoteHost("127.0.0.1"), RemoteHost("localhost", workers: 2)])
        }
        defer { pool.terminate() }
        #expect(pool.workerCount == 3, "no --workers: the hosts' counts add up")
        #expect(try await pool.map(TestTasks.square, Array(0..<30), chunksize: 1) == (0..<30).map { $0 * $0 })
    }

    @Test("a host whose launches keep failing: after a few, its slot starts on another host", .timeLimit(.minutes(2)))
    func moveOffFailingHost() async throws {
        let sshd = try LoopbackSSHD()
        defer { sshd.stop() }
        // sshd listens on 127.0.0.1 only: 127.0.0.2 (also this machine) refuses at once. Three
        // failures in a row move a slot to another host (LaunchCommand.failuresBeforeMoving).
        // The pool starts with the good host's slot only and grows to the failing one once
        // subscribed: a refusal during start-up came before `events()` and went uncounted
        // (seen once in a loaded full run: 2 of 3).
        var configuration = TestEnvironment.configuration(workers: 1)
        configuration.launcher = Self.launcher(sshd, hosts: [RemoteHost("127.0.0.1"), RemoteHost("127.0.0.2")])
        configuration.captureOutput = true
        let pool = try ProcessPool(configuration: configuration)
        defer { pool.terminate() }
        let events = pool.events()
        try pool.resize(workers: 2)
        #expect(try await pool.map(TestTasks.square, Array(0..<20), chunksize: 1) == (0..<20).map { $0 * $0 })
        #expect(TestEnvironment.eventually(within: 60) { pool.workerPIDs.count == 2 }, "both slots end up with a worker")
        pool.close()
        try await pool.join()
        var refused = 0
        var started = 0
        for await event in events {
            if case .workerFault(_, let message) = event.kind, message.contains("on 127.0.0.2") { refused += 1 }
            if case .workerStarted(_, _, _?) = event.kind { started += 1 }
        }
        #expect(refused == 3, "launches on the failing host before moving: \(refused)")
        #expect(started == 2)
    }

    @Test("a host ssh cannot reach: each launch fails, the pool gives up after a bounded number and says why", .timeLimit(.minutes(2)))
    func unreachableHost() async throws {
        // No sshd needed: a closed loopback port refuses at once.
        let port = try LoopbackSSHD.freeLoopbackPort()
        let launcher = WorkerLauncher.ssh(hosts: [RemoteHost("127.0.0.1")], options: ["-p", "\(port)", "-o", "ConnectTimeout=5"])
        var configuration = TestEnvironment.configuration(workers: 1)
        configuration.launcher = launcher
        configuration.captureOutput = true  // ssh's "connection refused" goes to events, not the test log
        let pool = try ProcessPool(configuration: configuration)
        defer { pool.terminate() }
        let events = pool.events()
        do {
            _ = try await pool.map(TestTasks.square, [1, 2, 3])
            Issue.record("no worker can start: the map must fail")
        } catch let error as PoolError {
            #expect(error.code == .spawnFailed)
        }
        pool.terminate()
        var faults: [String] = []
        for await event in events { if case .workerFault(_, let message) = event.kind { faults.append(message) } }
        #expect(faults.contains { $0.contains("could not start a worker on 127.0.0.1 through ssh") }, "\(faults)")
    }
}
