import ArgumentParser
import Foundation

/// `poolmon-bench launchers`: tiny-task throughput (chunk size 1 and Python's default) and pool
/// startup with workers started here, through ssh and through srun, measured in the same run
/// (alternating, several rounds, medians), each in a fresh `measure` process.
struct LaunchersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launchers",
        abstract: "Compare local workers with workers started through ssh and srun: throughput and startup."
    )

    @Option(help: "Rounds; each measures every launcher once per workload.")
    var rounds = 3

    @Option(help: "Tasks per throughput measurement.")
    var items = 20_000

    @Option(help: "Worker processes (ssh: spread over --ssh-hosts).")
    var workers = 2

    @Option(name: .customLong("ssh-hosts"), help: "Measure ssh too, to these hosts (e.g. 127.0.0.1:2).")
    var sshHosts: String?

    @Option(name: .customLong("ssh-command"), help: "The ssh program and its options, split at spaces (e.g. \"ssh -F cfg\").")
    var sshCommand: String?

    @Flag(help: "Measure srun too (SLURM_CONF and the cluster must be set up).")
    var srun = false

    @Option(name: .customLong("srun-args"), help: "srun's options, split at spaces.")
    var srunArgs: String?

    func run() async throws {
        var launchers: [(name: String, options: [String])] = [("local", ["--launcher", "local"])]
        if let sshHosts {
            launchers.append(("ssh", ["--launcher", "ssh", "--hosts", sshHosts] + (sshCommand.map { ["--ssh-command", $0] } ?? [])))
        }
        if srun { launchers.append(("srun", ["--launcher", "srun"] + (srunArgs.map { ["--srun-args", $0] } ?? []))) }
        let workloads = ["map_chunk1", "map_default", "startup"]
        let executable = ProbeRunner.ownExecutable()
        var samples: [String: [String: [Double]]] = [:]
        for round in 1...max(1, rounds) {
            // Alternate the order each round, so that a slow spell of the machine is shared out.
            let order = round % 2 == 1 ? launchers : launchers.reversed()
            for workload in workloads {
                for launcher in order {
                    let child = try ChildProcess.run(executable, ["measure", workload, "--items", "\(items)", "--workers", "\(workers)"]
                                                     + launcher.options)
                    guard child.succeeded, let value = child.resultFields?["value"] else {
                        throw BenchError("\(launcher.name) \(workload): exit status \(child.status): \(child.output.suffix(600))")
                    }
                    samples[launcher.name, default: [:]][workload, default: []].append(value)
                }
            }
        }
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
        }
        print("launcher  map_chunk1 tasks/s  map_default tasks/s  startup s   (medians of \(rounds) rounds, \(items) tasks, \(workers) workers)")
        let local = samples["local"] ?? [:]
        for launcher in launchers {
            let row = samples[launcher.name] ?? [:]
            let chunk1 = median(row["map_chunk1"] ?? [])
            let standard = median(row["map_default"] ?? [])
            let startup = median(row["startup"] ?? [])
            let ratio = launcher.name == "local" ? "" : String(format: "   (%.2fx, %.2fx, %.1fx local)",
                chunk1 / median(local["map_chunk1"] ?? []), standard / median(local["map_default"] ?? []),
                startup / median(local["startup"] ?? []))
            print(launcher.name.padding(toLength: 8, withPad: " ", startingAt: 0)
                  + String(format: "  %18.0f  %19.0f  %9.3f", chunk1, standard, startup) + ratio)
            print("bench: launcher=\(launcher.name) map_chunk1=\(Int(chunk1)) map_default=\(Int(standard)) startup_s=\(startup)")
        }
    }
}
