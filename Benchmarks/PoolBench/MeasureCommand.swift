import ArgumentParser

/// `poolmon-bench measure WORKLOAD`: one measurement of our pool, in this fresh process, printed
/// as a `result key=value ...` line (the same shape as the Python script's). The comparison runs
/// it as a child process once per round.
struct MeasureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Run one workload once on our pool and print its result line.",
        shouldDisplay: false
    )

    @Argument(help: "map_chunk1, map_default, imap_chunk1, imap_unordered_chunk1, monitored, monitored_socket, latency, startup, memory, struct_codable, struct_wire, struct_floor (Codable's dispatch floor), or watch_cost (where a watcher's time goes; not in the table).")
    var workload: String

    @Option(help: "Tasks to run.")
    var items = 1000

    @Option(help: "Worker processes.")
    var workers = 2

    @OptionGroup var placement: BenchLauncherOptions

    func run() async throws {
        let fields = try await OurMeasurements.run(workload, items: items, workers: workers, launcher: try placement.resolved())
        print("result " + fields.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
    }
}
