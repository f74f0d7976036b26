import Foundation
import Glibc

/// A one-node Slurm cluster of a test's own, in a temporary directory: `munged` on a socket
/// there, `slurmctld` and `slurmd` with a `slurm.conf` naming this machine, started and stopped
/// by the test. Clients (`srun`, `sinfo`) find it through `SLURM_CONF` (see ``environment``).
///
/// Found setting it up (DESIGN.md §12): munged runs as `munged -F --force` on a socket named in
/// `slurm.conf` by `AuthInfo=socket=…`; `SlurmctldHost` must be the short host name;
/// `select/cons_tres` with `CR_CPU` lets several one-task steps share the node.
public final class OneNodeSlurm: @unchecked Sendable {
    // Safe: immutable after init; the daemons are themselves thread-safe.
    static let binaries = ["/usr/sbin/munged", "/usr/sbin/mungekey", "/usr/sbin/slurmctld", "/usr/sbin/slurmd",
                           "/usr/bin/srun", "/usr/bin/sinfo"]

    /// Why Slurm tests cannot run here, or `nil` when they can.
    public static let unavailableReason: String? = {
        for path in binaries where access(path, X_OK) != 0 {
            return "\(path) is not installed (apt-get install munge slurmctld slurmd slurm-client)"
        }
        if getuid() != 0 { return "slurmd must run as root to start job steps" }
        return nil
    }()

    /// Whether the Slurm tests run: everything is here, or CI wants them to fail if it is not.
    public static var shouldRun: Bool { unavailableReason == nil || LoopbackSSHD.isCI }

    public let directory: String
    /// This process's environment plus `SLURM_CONF`: what `srun` needs to find this cluster.
    public let environment: [String: String]
    private var daemons: [BackgroundDaemon] = []

    /// Starts munged, slurmctld and slurmd, and waits until `srun` runs a step (or throws, with the logs).
    public init() throws {
        if let reason = Self.unavailableReason { throw ChildProcess.Failure(description: "cannot run Slurm: \(reason)") }
        directory = NSTemporaryDirectory() + "poolmon-slurm-\(UUID().uuidString.prefix(8))"
        for sub in ["", "/state", "/spool"] {
            try FileManager.default.createDirectory(atPath: directory + sub, withIntermediateDirectories: true)
        }
        chmod(directory, 0o755)
        let config = "\(directory)/slurm.conf"
        var environment = ProcessInfo.processInfo.environment
        environment["SLURM_CONF"] = config
        self.environment = environment
        do {
            let key = try ChildProcess.run("/usr/sbin/mungekey", ["-c", "-k", "\(directory)/munge.key"])
            guard key.status == 0 else { throw ChildProcess.Failure(description: "mungekey failed: \(key.standardError)") }
            chmod("\(directory)/munge.key", 0o600)
            daemons.append(try BackgroundDaemon("/usr/sbin/munged", [
                "-F", "--force", "--socket=\(directory)/munge.sock", "--key-file=\(directory)/munge.key",
                "--pid-file=\(directory)/munged.pid", "--seed-file=\(directory)/munge.seed", "--log-file=\(directory)/munged.log",
            ], logPath: "\(directory)/munged.out"))
            try Self.waitFor(within: 20, "munged's socket") { access("\(directory)/munge.sock", F_OK) == 0 }

            var name = [CChar](repeating: 0, count: 256)
            gethostname(&name, 255)
            let host = String(String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: ".").first ?? "localhost")
            let controllerPort = try LoopbackSSHD.freeLoopbackPort()
            var nodePort = try LoopbackSSHD.freeLoopbackPort()
            if nodePort == controllerPort { nodePort = try LoopbackSSHD.freeLoopbackPort() }
            try """
            ClusterName=poolmontest
            SlurmctldHost=\(host)(127.0.0.1)
            SlurmUser=root
            SlurmdUser=root
            SlurmctldPort=\(controllerPort)
            SlurmdPort=\(nodePort)
            AuthType=auth/munge
            AuthInfo=socket=\(directory)/munge.sock
            CredType=cred/munge
            StateSaveLocation=\(directory)/state
            SlurmdSpoolDir=\(directory)/spool
            SlurmctldPidFile=\(directory)/slurmctld.pid
            SlurmdPidFile=\(directory)/slurmd.pid
            SlurmctldLogFile=\(directory)/slurmctld.log
            SlurmdLogFile=\(directory)/slurmd.log
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_CPU
            SchedulerType=sched/builtin
            SlurmdParameters=config_overrides
            ReturnToService=2
            MpiDefault=none
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            NodeName=\(host) NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN
            PartitionName=debug Nodes=\(host) Default=YES MaxTime=INFINITE State=UP

            """.write(toFile: config, atomically: false, encoding: .utf8)
            daemons.append(try BackgroundDaemon("/usr/sbin/slurmctld", ["-D", "-i", "-f", config],
                                                logPath: "\(directory)/slurmctld.out", environment: environment))
            daemons.append(try BackgroundDaemon("/usr/sbin/slurmd", ["-D", "-f", config],
                                                logPath: "\(directory)/slurmd.out", environment: environment))
            var last = ""
            try Self.waitFor(within: 60, "a Slurm step to run") {
                guard daemons.allSatisfy(\.isRunning) else { return true }
                let probe = try? ChildProcess.run("/usr/bin/srun", ["--immediate=5", "-n1", "true"], environment: environment,
                                                   timeout: .seconds(20))
                last = probe?.standardError ?? ""
                return probe?.status == 0
            }
            if let dead = daemons.first(where: { !$0.isRunning }) {
                throw ChildProcess.Failure(description: "\(dead.name) exited: \(dead.log)")
            }
            _ = last
        } catch {
            let logs = daemons.map { "\($0.name): \($0.log.suffix(2000))" }.joined(separator: "\n")
            stop()
            throw ChildProcess.Failure(description: "\(error)\n\(logs)")
        }
    }

    deinit { stop() }

    /// Stops slurmd, slurmctld and munged, in that order, and removes the directory.
    public func stop() {
        for daemon in daemons.reversed() { daemon.stop() }
        daemons.removeAll()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func waitFor(within seconds: Double, _ what: String, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(100_000)
        }
        throw ChildProcess.Failure(description: "no \(what) within \(Int(seconds)) s")
    }
}
