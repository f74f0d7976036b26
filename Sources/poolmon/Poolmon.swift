import ArgumentParser

/// The `poolmon` command line.
struct Poolmon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poolmon",
        abstract: "Watch a process pool work: the asyncmap tutorial's sum and product jobs on real worker processes.",
        subcommands: [WatchCommand.self, RunCommand.self, ReplayCommand.self, AttachCommand.self],
        defaultSubcommand: WatchCommand.self
    )
}
