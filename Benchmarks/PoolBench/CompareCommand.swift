import ArgumentParser
import Glibc

/// `poolmon-bench` (the default command): every workload on our pool and on CPython's, in
/// alternating order over several rounds, then a table of medians and one `bench:` line each.
struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run every workload on our pool and on CPython's, side by side, and print the medians."
    )

    @Option(help: "Rounds; each runs every workload once per side, alternating which side goes first.")
    var rounds = 5

    @Flag(help: "Tiny sizes and one round: a quick check that everything runs.")
    var smoke = false

    @Option(help: "Only these workloads (comma-separated).")
    var only: String?

    @Option(help: "Worker processes on both sides.")
    var workers = 2

    @Option(help: "The Python interpreter.")
    var python = "python3"

    @Option(help: "The directory of pool_bench.py and asyncmap_py3.py (default: Benchmarks/python of this package).")
    var scripts: String?

    @Option(help: "The poolmon executable (default: the one beside this program, from the same build).")
    var poolmon: String?

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        if let only {
            let known = Set(Workload.all.map(\.name))
            for name in only.split(separator: ",") where !known.contains(String(name)) {
                throw ValidationError("unknown workload '\(name)'; known: \(Workload.all.map(\.name).joined(separator: ", "))")
            }
        }
    }

    func run() async throws {
        let selected = only.map { list in
            let names = Set(list.split(separator: ",").map(String.init))
            return Workload.all.filter { names.contains($0.name) }
        } ?? Workload.all
        let runner = ProbeRunner(
            ownExecutable: ProbeRunner.ownExecutable(), python: python,
            scripts: scripts ?? ProbeRunner.defaultScriptsDirectory(),
            poolmon: poolmon ?? ProbeRunner.besideOwnExecutable("poolmon"), workers: workers)
        let roundCount = smoke ? 1 : rounds
        var limitProgram: String?
        var limitProblem: String?
        if selected.contains(where: { $0.limit != nil }) {
            do {
                limitProgram = try PipeLimitProgram.build()
            } catch {
                limitProblem = "\(error)"
                log("no limit column: \(error)")
            }
        }

        print(MachineDescription.header(rounds: roundCount, workers: workers, smoke: smoke,
                                        python: runner.pythonVersion()))
        var samples = BenchSamples()
        for round in 1...roundCount {
            // Results of a probe are shared by the rows that read it within a round (memory).
            var cache: [ProbeRunner.Key: [String: Double]] = [:]
            for workload in selected {
                let items = smoke ? workload.smokeItems : workload.fullItems
                // Alternate who goes first, so that drift in the machine's load hits both sides.
                let order = round % 2 == 1 ? [true, false] : [false, true]
                for isOurs in order {
                    let probe = isOurs ? workload.ours : workload.reference
                    let key = ProbeRunner.Key(probe: probe, items: items)
                    let fields: [String: Double]
                    if let cached = cache[key] {
                        fields = cached
                    } else {
                        do {
                            fields = try runner.run(probe, items: items)
                        } catch let error as BenchError where error.isSkip {
                            samples.skip(workload.name, error.description)
                            continue
                        } catch {
                            samples.fail(workload.name, "\(error)")
                            log("round \(round): \(workload.name) (\(isOurs ? "ours" : workload.referenceName)) failed: \(error)")
                            continue
                        }
                        cache[key] = fields
                    }
                    samples.add(workload, ours: isOurs, fields: fields)
                }
                if let limit = workload.limit, let limitProgram {
                    let key = ProbeRunner.Key(probe: limit, items: items)
                    if let cached = cache[key] {
                        samples.addLimit(workload, fields: cached)
                    } else {
                        do {
                            let fields = try runner.runLimit(limitProgram, limit, items: items)
                            cache[key] = fields
                            samples.addLimit(workload, fields: fields)
                        } catch {
                            log("round \(round): \(workload.name) (pipe limit) failed: \(error)")
                        }
                    }
                }
            }
            log("round \(round)/\(roundCount) done")
        }
        if let limitProgram {
            unlink(limitProgram)
            if let slash = limitProgram.lastIndex(of: "/") { rmdir(String(limitProgram[..<slash])) }
        }
        let table = BenchTable(workloads: selected, samples: samples, limitProblem: limitProblem)
        print(table.rendered())
        for line in table.machineLines() { print(line) }
        if samples.hasFailures { throw ExitCode(1) }
    }

    private func log(_ message: String) {
        fflush(nil)  // what went to standard output so far comes first
        var line = Array("poolmon-bench: \(message)\n".utf8)
        _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress!, $0.count) }
    }
}
