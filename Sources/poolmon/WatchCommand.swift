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

/// `poolmon replay FILE`: a recorded `--events` log, played into the same monitor.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Play a log recorded with --events into the monitor."
    )

    @Argument(help: "A JSON Lines event log written by `poolmon run --events FILE` or `poolmon watch --events FILE`.")
    var file: String

    @Option(help: "Playback speed: 2 plays twice as fast.")
    var speed: Double = 1

    func validate() throws {
        guard speed.isFinite, speed > 0, speed <= 10_000 else {
            throw ValidationError("--speed must be greater than 0 and at most 10000 (got \(speed))")
        }
    }

    func run() throws {
        let events: [PoolEvent]
        do {
            events = try EventLogReader.read(path: file)
        } catch {
            if case .unreadable = error {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                throw ExitCode(66)
            }
            throw ValidationError("\(error)")
        }
        try MonitorSession.requireTerminal()
        let inbox = MonitorInbox()
        let source = ReplaySource(events: events, speed: speed, name: file, inbox: inbox)
        var settings = RunSettings(workers: 1)
        for event in events {
            switch event.kind {
            case .poolResized(_, let to) where settings.workers == 1: settings.workers = to
            case .jobSubmitted(let job):
                settings.mode = DemoMode(job.mode)
                settings.chunksize = job.chunksizeIsAutomatic ? nil : job.chunksize
            default: continue
            }
        }
        try MonitorSession.run(source: source, inbox: inbox, settings: settings, loopDelay: nil)
    }
}

/// Setting up and tearing down a monitor session: terminal check, signals, cleanup.
enum MonitorSession {
    /// Refuses to start without a terminal, pointing to the plain-output command.
    static func requireTerminal() throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw ValidationError("the monitor needs a terminal (standard input and output are not one); use `poolmon run` for plain output")
        }
    }

    static func run(source: any MonitorSource, inbox: MonitorInbox, settings: RunSettings, loopDelay: UInt64?) throws {
        let interrupter = TerminalInterrupter()
        // A signal: let the UI thread restore the terminal, then stop the run; the signal thread exits.
        let token = SignalStop.install {
            interrupter.interruptAndWait(timeout: .seconds(3))
            source.stop()
        }
        defer { token.cancel() }
        let loop = MonitorLoop(source: source, inbox: inbox, interrupter: interrupter, settings: settings, loopDelay: loopDelay)
        do {
            try loop.run()
        } catch let error as TerminalError {
            source.stop()
            throw ValidationError("\(error)")
        } catch {
            source.stop()
            throw error
        }
        source.stop()
        SignalStop.waitIfStopping()
    }
}
