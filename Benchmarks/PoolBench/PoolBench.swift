import ArgumentParser

/// `poolmon-bench`: the process pool against CPython's `multiprocessing.Pool`, side by side.
struct PoolBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poolmon-bench",
        abstract: "Benchmark the process pool against CPython's multiprocessing.Pool on the same machine.",
        subcommands: [CompareCommand.self, MeasureCommand.self, SoakCommand.self, WindowCommand.self, LaunchersCommand.self],
        defaultSubcommand: CompareCommand.self
    )

    /// Parses the command line and runs the command. (From top-level code, `main()` resolves to
    /// the synchronous overload, which never calls an `async run()`.)
    static func dispatch() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
