import Foundation
import Glibc
import ProcessPool
import TerminalTestSupport
import Testing

/// `poolmon run --launcher ssh|srun`: the tutorial with its workers started through ssh (an sshd of
/// the test's own on a loopback port) or Slurm (a one-node cluster of the test's own).
@Suite("poolmon run on other machines", .serialized)
struct RemoteRunTests {
    /// `host:pid` of each `Worker host:pid is processing …` line (workers print to standard error
    /// through a launcher: their standard output carries the protocol).
    static func workers(_ run: PoolmonProcess) -> [(host: String, pid: Int32)] {
        run.stderr.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count >= 4, words[0] == "Worker", words[2] == "is" else { return nil }
            let parts = words[1].split(separator: ":")
            guard parts.count == 2, let pid = Int32(parts[1]) else { return nil }
            return (String(parts[0]), pid)
        }
    }

    static var hostName: String {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Checks a finished tutorial run: totals, 20 task lines from `host:pid` workers that are the
    /// ones the event log announced with that host, none of them poolmon itself.
    static func checkTutorial(_ run: PoolmonProcess, log: URL, workers expected: Int) throws {
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stdout == "Sum of sums of 'a' and 'b' is 210\nSum of products of 'a' and 'b' is 935\n")
        let printed = workers(run)
        #expect(printed.count == 20, "stderr: \(run.stderr)")
        #expect(printed.allSatisfy { $0.host == hostName })
        let events = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map { try PoolEvent(jsonLine: String($0)) }
        var announced: [Int32: String] = [:]
        for event in events { if case .workerStarted(_, let pid, let host?) = event.kind { announced[pid] = host } }
        let pids = Set(printed.map(\.pid))
        #expect(pids.count == expected)
        #expect(pids.allSatisfy { announced[$0] == hostName }, "printed \(pids), announced \(announced)")
        #expect(!pids.contains(run.pid))
    }

    @Test("--launcher ssh --hosts 127.0.0.1: the tutorial's lines from host:pid workers, totals 210 and 935",
          .enabled(if: LoopbackSSHD.shouldRun, "skipped: \(LoopbackSSHD.unavailableReason ?? "")"), .timeLimit(.minutes(2)))
    func sshTutorial() throws {
        let sshd = try LoopbackSSHD()
        defer { sshd.stop() }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("poolmon-ssh-\(UUID().uuidString).jsonl")
        let run = try PoolmonProcess.run(["run", "--launcher", "ssh", "--hosts", "127.0.0.1", "--ssh-command",
                                          sshd.sshCommand.joined(separator: " "), "--delay", "0.05", "--events", log.path])
        try Self.checkTutorial(run, log: log, workers: 1)
    }

    @Test("through ssh: a remote worker killed mid-run is replaced and the totals stay right",
          .enabled(if: LoopbackSSHD.shouldRun, "skipped: \(LoopbackSSHD.unavailableReason ?? "")"), .timeLimit(.minutes(2)))
    func sshKillWorker() throws {
        let sshd = try LoopbackSSHD()
        defer { sshd.stop() }
        let run = try PoolmonProcess(["run", "--launcher", "ssh", "--hosts", "127.0.0.1:2", "--ssh-command",
                                      sshd.sshCommand.joined(separator: " "), "--count", "200", "--delay", "0.05"])
        #expect(eventually { Self.workers(run).count >= 4 })
        let victim = try #require(Self.workers(run).last?.pid)
        #expect(kill(victim, SIGKILL) == 0)
        run.waitForExit()
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stdout == "Sum of sums of 'a' and 'b' is 80200\nSum of products of 'a' and 'b' is 6706700\n")
        #expect(Set(Self.workers(run).map(\.pid)).count >= 3, "a replacement worker took over")
    }

    @Test("through ssh: SIGKILL of poolmon leaves no remote worker alive 5 s later",
          .enabled(if: LoopbackSSHD.shouldRun, "skipped: \(LoopbackSSHD.unavailableReason ?? "")"), .timeLimit(.minutes(2)))
    func sshKillParent() throws {
        let sshd = try LoopbackSSHD()
        defer { sshd.stop() }
        let run = try PoolmonProcess(["run", "--launcher", "ssh", "--hosts", "127.0.0.1:2", "--ssh-command",
                                      sshd.sshCommand.joined(separator: " "), "--count", "50", "--delay", "1"])
        #expect(eventually { Set(Self.workers(run).map(\.pid)).count == 2 })
        let workers = Set(Self.workers(run).map(\.pid))
        kill(run.pid, SIGKILL)
        run.waitForExit()
        #expect(eventually(within: 5) { workers.allSatisfy { !processExists($0) } }, "remote workers \(workers) outlived poolmon")
    }

    @Test("--launcher srun: the tutorial's lines from Slurm steps' workers, totals 210 and 935; SIGKILL of poolmon leaves none",
          .enabled(if: OneNodeSlurm.shouldRun, "skipped: \(OneNodeSlurm.unavailableReason ?? "")"), .timeLimit(.minutes(3)))
    func srunTutorial() throws {
        let slurm = try OneNodeSlurm()
        defer { slurm.stop() }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("poolmon-srun-\(UUID().uuidString).jsonl")
        let run = try PoolmonProcess.run(["run", "--launcher", "srun", "--workers", "2", "--delay", "0.05", "--events", log.path],
                                         environment: slurm.environment)
        try Self.checkTutorial(run, log: log, workers: 2)

        let long = try PoolmonProcess(["run", "--launcher", "srun", "--workers", "2", "--count", "50", "--delay", "1"],
                                      environment: slurm.environment)
        #expect(eventually { Set(Self.workers(long).map(\.pid)).count == 2 })
        let workers = Set(Self.workers(long).map(\.pid))
        kill(long.pid, SIGKILL)
        long.waitForExit()
        #expect(eventually(within: 5) { workers.allSatisfy { !processExists($0) } }, "Slurm workers \(workers) outlived poolmon")
    }

    @Test("launcher options that do not fit exit with status 64 and say which", arguments: [
        (["run", "--launcher", "ssh"], "--hosts"),
        (["run", "--hosts", "h1"], "--launcher ssh"),
        (["run", "--launcher", "ssh", "--hosts", "h1:0"], "--hosts"),
        (["run", "--launcher", "ssh", "--hosts", "-oProxyCommand=x"], "--hosts"),
        (["run", "--launcher", "srun", "--hosts", "h1"], "--hosts"),
        (["run", "--srun-args", "-p x"], "--srun-args"),
        (["run", "--launcher", "ssh", "--hosts", "h1", "--ssh-command", "ssh 'unterminated"], "--ssh-command"),
        (["run", "--launcher", "rsh"], "launcher"),
    ])
    func invalidOptions(arguments: [String], mentions: String) throws {
        let run = try PoolmonProcess.run(arguments)
        #expect(run.status == 64, "\(arguments): status \(run.status), stderr \(run.stderr)")
        #expect(run.stderr.contains(mentions), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }
}
