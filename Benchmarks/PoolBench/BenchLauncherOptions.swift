import ArgumentParser
import ProcessPool

/// `--launcher local|ssh|srun` with `--hosts`, `--ssh-command`, `--srun-args`: where `measure`
/// starts its workers (see ``WorkerLauncher``).
struct BenchLauncherOptions: ParsableArguments {
    @Option(help: "How workers are started: local, ssh or srun.")
    var launcher = "local"

    @Option(help: "ssh: hosts with worker counts, e.g. 127.0.0.1:2.")
    var hosts: String?

    @Option(name: .customLong("ssh-command"), help: "ssh: the ssh program and its options, split at spaces.")
    var sshCommand: String?

    @Option(name: .customLong("srun-args"), help: "srun: its options, split at spaces.")
    var srunArgs: String?

    func validate() throws { _ = try resolved() }

    /// The engine's launcher.
    func resolved() throws -> WorkerLauncher {
        switch launcher {
        case "local": return .local
        case "ssh":
            guard let hosts else { throw ValidationError("--launcher ssh needs --hosts") }
            return .ssh(hosts: try RemoteHost.parseList(hosts),
                        sshCommand: sshCommand.map { $0.split(separator: " ").map(String.init) } ?? ["ssh"])
        case "srun":
            return .srun(arguments: srunArgs.map { $0.split(separator: " ").map(String.init) } ?? [])
        default:
            throw ValidationError("--launcher must be local, ssh or srun (got '\(launcher)')")
        }
    }

    /// The same options as arguments for a `measure` child.
    var arguments: [String] {
        ["--launcher", launcher] + (hosts.map { ["--hosts", $0] } ?? []) + (sshCommand.map { ["--ssh-command", $0] } ?? [])
            + (srunArgs.map { ["--srun-args", $0] } ?? [])
    }
}
