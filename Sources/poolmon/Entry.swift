import ArgumentParser
import Foundation
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
            if let failure = error as? EventLogWriter.Failure {
                // Not a usage error: one line, and EX_IOERR as for any output that failed.
                FileHandle.standardError.write(Data("poolmon: \(failure)\n".utf8))
                Poolmon.exit(withError: ExitCode(74))
            }
            Poolmon.exit(withError: error)
        }
    }
}
