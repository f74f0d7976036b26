import ArgumentParser
import ProcessPool

/// How the pool hands results back, as named on the command line.
enum DemoMode: String, ExpressibleByArgument, CaseIterable {
    case mapAsync = "map_async"
    case imap
    case imapUnordered = "imap_unordered"
}

/// The options shared by `run` and the monitor: what the tutorial's run looks like.
struct DemoOptions: ParsableArguments {
    @Option(help: "Worker processes (default: the number of usable CPUs).")
    var workers: Int?

    @Option(help: "Items per chunk (default: Python's formula for map_async, 1 for imap).")
    var chunksize: Int?

    @Option(help: "Seconds each task sleeps.")
    var delay: Double = 1

    @Option(help: "Items per job: a = 1…N, b = N+1…2N.")
    var count: Int = 10

    @Option(help: "How results come back: map_async, imap or imap_unordered.")
    var mode: DemoMode = .mapAsync

    @OptionGroup var placement: LauncherOptions
    @Option(help: ArgumentHelp(
        "Spread each task's time by up to this fraction either way, as real tasks vary, e.g. 0.5 for ±50% (default: 0.5 for imap and imap_unordered, whose ordering only shows when tasks differ; 0 for map_async).",
        valueName: "fraction"))
    var jitter: Double?

    @Option(help: "Record every pool event to this file as JSON Lines.")
    var events: String?

    @Option(name: .customLong("crash-on"), help: ArgumentHelp(
        "Make one item abort its worker every time it runs, e.g. sum:7 (job sum, item 7).",
        valueName: "job:item"))
    var crashOn: PoisonItem?

    @Option(name: .customLong("task-timeout"), help: ArgumentHelp(
        "Stop a worker whose task runs longer than this (SIGTERM, then SIGKILL) and replace it; the item fails if it hangs again.",
        valueName: "seconds"))
    var taskTimeout: Double?

    func validate() throws {
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1 (got \(workers))") }
        if let chunksize, chunksize < 1 { throw ValidationError("--chunksize must be at least 1 (got \(chunksize))") }
        guard delay.isFinite, delay >= 0, delay <= 3600 else {
            throw ValidationError("--delay must be between 0 and 3600 seconds (got \(delay))")
        }
        guard count >= 0, count <= 10_000_000 else {
            throw ValidationError("--count must be between 0 and 10000000 (got \(count))")
        }
        if let jitter, !(jitter.isFinite && jitter >= 0 && jitter <= 1) {
            throw ValidationError("--jitter must be between 0 and 1 (got \(jitter))")
        }
        if let taskTimeout, !(taskTimeout.isFinite && taskTimeout > 0 && taskTimeout <= 86_400) {
            throw ValidationError("--task-timeout must be more than 0 and at most 86400 seconds (got \(taskTimeout))")
        }
        if let crashOn, crashOn.item > count {
            throw ValidationError("--crash-on item \(crashOn.item) is beyond --count \(count)")
        }
    }
}

/// `--crash-on sum:7`: the item of one job that kills its worker.
struct PoisonItem: ExpressibleByArgument, Equatable {
    var job: String
    /// 1-based, as the tutorial numbers items (`sum(7,17)` is item 7).
    var item: Int

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, ["sum", "product"].contains(String(parts[0])),
              let item = Int(parts[1]), item >= 1 else { return nil }
        job = String(parts[0])
        self.item = item
    }

    static var defaultCompletionKind: CompletionKind { .list(["sum:1", "product:1"]) }
}
