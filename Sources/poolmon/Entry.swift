import ArgumentParser
import Foundation
import Dispatch
import Glibc
import ProcessPool

/// The program's entry point: worker mode first, then checks that need no thread, then the
/// command line.
///
/// `main` is synchronous on purpose: an `async` main hands the main thread to Swift's runtime
/// before the first line here runs, and under a low `ulimit -u` or `ulimit -v` the runtime then
/// waits forever for a thread it cannot create. Here the limits are checked first.
@main
enum Entry {
    static func main() {
        // In a worker process this serves tasks and never returns; in the parent it returns at once.
        WorkerProcess.runIfRequested(DemoTasks.registry)
        // Closed stdin/stdout/stderr are filled, so that no pipe or file lands on 0, 1 or 2.
        StandardStreams.reserve()
        // Room for the descriptors and threads the runtime and poolmon need, or a clear message
        // and exit 71.
        StartupLimits.requireOrExit()
        // Signals that would end the process become an orderly stop (workers reaped, terminal
        // restored, exit 128 + signal); SIGPIPE is ignored.
        SignalStop.start()
        Task { @MainActor in
            await runCommandLine()
            exit(0)
        }
        dispatchMain()
    }

    @MainActor
    static func runCommandLine() async {
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
