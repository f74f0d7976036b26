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

    @Flag(help: "Start the run again a few seconds after it ends.")
    var loop = false

    func run() throws {
        try MonitorSession.requireTerminal()
        let inbox = MonitorInbox()
        let source = LiveRunSource(inbox: inbox, eventLogPath: options.events)
        if let path = options.events { _ = try EventRecorder(path: path) }  // fail now, not mid-run
        try MonitorSession.run(source: source, inbox: inbox, settings: RunSettings(options, quiet: false),
                               loopDelay: loop ? 3_000_000_000 : nil)
    }
}
