import ArgumentParser
import ProcessPool

/// The program's entry point: worker mode first, then the command line.
@main
enum Entry {
    static func main() async {
        // In a worker process this serves tasks and never returns; in the parent it returns at once.
        WorkerProcess.runIfRequested(DemoTasks.registry)
        // SIGINT/SIGTERM/SIGHUP become an orderly stop (workers reaped, exit 128 + signal).
        SignalStop.start()
        do {
            var command = try Poolmon.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // A signal's cleanup makes pending work fail; the signal thread owns the exit then.
            SignalStop.waitIfStopping()
            Poolmon.exit(withError: error)
        }
    }
}
