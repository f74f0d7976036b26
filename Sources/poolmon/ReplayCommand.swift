import ArgumentParser
import Foundation
import ProcessPool

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
        if let problem = Self.notALogFile(file) {
            StandardStreams.complain("Error: cannot read the event log '\(file)': \(problem)")
            throw ExitCode(66)
        }
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

    /// Why `path` is no log file, if it exists and is not a regular file: a directory, or a FIFO
    /// or device, which may never end (`/dev/zero`) or block the open (a FIFO with no writer).
    /// Checked with `stat`, which opens nothing. `nil` for a regular file or a missing one.
    static func notALogFile(_ path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "it is a directory, not a regular file"
        case S_IFIFO: return "it is a FIFO (named pipe), not a regular file; replay reads a log written by --events"
        case S_IFCHR: return "it is a character device, not a regular file; replay reads a log written by --events"
        case S_IFBLK: return "it is a block device, not a regular file; replay reads a log written by --events"
        case S_IFSOCK: return "it is a socket, not a regular file; replay reads a log written by --events"
        default: return "not a regular file"
        }
    }
}
