// A program that uses ProcessPool exactly as a user's program would (it depends on the library
// product alone), for the tests of `poolmon watch -- CMD` and `poolmon attach`.
//
//   WatchedProgram [--pools N] [--items N] [--delay SECONDS] [--exit CODE] [--serve FILE] [--log FILE] [--attachable]
//
// Each pool runs one map over `--items` items, each sleeping `--delay` and printing
// "Worker PID is processing square(X)"; the pools run one after another. `--serve FILE` keeps the
// last pool running rounds of work until FILE exists (a long-running program to attach to), and
// prints "round N ok" after each round. Exits with `--exit`.
import Foundation
import ProcessPool

enum Tasks {
    static let registry: TaskRegistry = {
        var registry = TaskRegistry()
        registry.register("square") { (x: Pair<Int, Double>) -> Int in
            say("Worker \(getpid()) is processing square(\(x.first))")
            if x.second > 0 { usleep(useconds_t(x.second * 1_000_000)) }
            return x.first * x.first
        }
        return registry
    }()
    static let square = PoolTask<Pair<Int, Double>, Int>(name: "square")
}

/// One whole line on standard output at once (workers share it with the parent).
func say(_ text: String) {
    let line = text + "\n"
    _ = line.withCString { write(1, $0, strlen($0)) }
}

func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let position = arguments.firstIndex(of: name), position + 1 < arguments.count else { return nil }
    return arguments[position + 1]
}

WorkerProcess.runIfRequested(Tasks.registry)

let pools = Int(option("--pools") ?? "1") ?? 1
let items = Int(option("--items") ?? "10") ?? 10
let delay = Double(option("--delay") ?? "0.5") ?? 0.5
let exitCode = Int32(option("--exit") ?? "0") ?? 0
let serveUntil = option("--serve")
/// `--log FILE`: the rounds are also appended here (a file outlives a monitor that was killed).
let roundLog = option("--log").map { open($0, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) }
var configuration = ProcessPool.Configuration(workers: 2)
if CommandLine.arguments.contains("--attachable") { configuration.attachable = true }

for number in 1...max(1, pools) {
    let pool = try ProcessPool(configuration: configuration)
    say("pool \(number) started: workers \(pool.workerPIDs.sorted().map(String.init).joined(separator: " "))")
    if let path = pool.attachSocketPath { say("attachable at \(path)") }
    let work = (1...max(1, items)).map { Pair($0, delay) }
    let squares = try pool.mapAsync(Tasks.square, work, label: "squares\(number)").get()
    say("pool \(number) total \(squares.reduce(0, +))")
    if number == pools, let serveUntil {
        var round = 0
        while !FileManager.default.fileExists(atPath: serveUntil) {
            round += 1
            let again = try pool.mapAsync(Tasks.square, work, label: "round\(round)").get()
            let line = "round \(round) \(again == work.map { $0.first * $0.first } ? "ok" : "WRONG") workers \(pool.workerCount)"
            say(line)
            if let roundLog { _ = (line + "\n").withCString { write(roundLog, $0, strlen($0)) } }
        }
    }
    pool.close()
    try pool.join()
}
say("done")
exit(exitCode)
