import ArgumentParser
import CursesUI
import Foundation
import ProcessPool

/// `poolmon` / `poolmon watch`: the tutorial's run, live, in the terminal monitor.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Watch the tutorial's run live: worker PIDs and their tasks, the queue, completion order (the default)."
    )

    @OptionGroup var options: DemoOptions

    @Flag(help: "Do not have the workers print a line per task (the worker output pane stays quiet).")
    var quiet = false

    @Flag(help: "Start the run again a few seconds after it ends.")
    var loop = false

    @Argument(parsing: .postTerminator, help: ArgumentHelp(
        "A program to run and watch instead of the tutorial: every ProcessPool it creates shows up here (after --).",
        valueName: "command"))
    var command: [String] = []

    func run() throws {
        try MonitorSession.requireTerminal()
        if !command.isEmpty { return try watchProgram() }
        let inbox = MonitorInbox()
        // One log for the whole session, opened now so that an unwritable path fails before the
        // screen changes (status 64); every run the monitor makes is appended to it.
        let eventLog = try options.events.map { try EventLogWriter(path: $0) }
        // A write error ends the session; the terminal is restored before the error is printed.
        eventLog?.onFailure { failure in inbox.post(.sessionFailed(failure)) }
        let source = LiveRunSource(inbox: inbox, eventLog: eventLog)
        do {
            try MonitorSession.run(source: source, inbox: inbox, settings: RunSettings(options, quiet: quiet),
                                   loopDelay: loop ? 3_000_000_000 : nil)
        } catch {
            eventLog?.blockingClose(timeout: nil)
            throw eventLog?.failure ?? error
        }
        eventLog?.blockingClose(timeout: nil)
        if let failure = eventLog?.failure { throw failure }
    }

    /// `poolmon watch -- CMD`: the program's pools, live; poolmon exits with the program's status.
    private func watchProgram() throws {
        let inbox = MonitorInbox()
        let eventLog = try options.events.map { try EventLogWriter(path: $0) }
        eventLog?.onFailure { failure in inbox.post(.sessionFailed(failure)) }
        let source: ProgramSource
        do {
            source = try ProgramSource(command: command, inbox: inbox, eventLog: eventLog)
        } catch {
            throw ValidationError("\(error)")
        }
        defer { source.removeInstrumentation() }
        do {
            try MonitorSession.run(source: source, inbox: inbox, settings: RunSettings(options, quiet: false), loopDelay: nil)
        } catch {
            eventLog?.blockingClose(timeout: nil)
            throw eventLog?.failure ?? error
        }
        eventLog?.blockingClose(timeout: nil)
        if let failure = eventLog?.failure { throw failure }
        if let code = source.exitCode, code != 0 { throw ExitCode(code) }
    }
}
