import ArgumentParser
import Foundation
import ProcessPool

/// `poolmon replay FILE`: a recorded `--events` log, played into the same monitor; with
/// `--follow`, a log still being written, shown as it grows.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Play a log recorded with --events into the monitor, or follow one as it is written."
    )

    @Argument(help: "A JSON Lines event log written by `poolmon run --events FILE` or `poolmon watch --events FILE`.")
    var file: String

    @Option(help: "Playback speed: 2 plays twice as fast (default 1; not with --follow).")
    var speed: Double?

    @Flag(help: "Show the log as another process writes it, as `tail -f` does: what is there at once, then events as they are appended.")
    var follow = false

    func validate() throws {
        if let speed {
            guard !follow else {
                throw ValidationError("--speed does not apply to --follow, which shows events as they are written")
            }
            guard speed.isFinite, speed > 0, speed <= 10_000 else {
                throw ValidationError("--speed must be greater than 0 and at most 10000 (got \(speed))")
            }
        }
    }

    func run() throws {
        if let problem = Self.notALogFile(file) {
            StandardStreams.complain("Error: cannot read the event log '\(file)': \(problem)")
            throw ExitCode(66)
        }
        let inbox = MonitorInbox()
        let source: any MonitorSource
        let settings: RunSettings
        if follow {
            // Checked now, so that a missing or corrupt log fails before the screen changes; the
            // source reads it again from the start.
            let existing = try Self.reportingFailures { () throws(EventLogReader.Failure) -> [PoolEvent] in
                try EventLogFollower(path: file).readAvailable().events
            }
            try MonitorSession.requireTerminal()
            settings = Self.settings(replaying: existing)
            source = FollowedLogSource(path: file, inbox: inbox)
        } else {
            let events = try Self.reportingFailures { () throws(EventLogReader.Failure) -> [PoolEvent] in
                try EventLogReader.read(path: file)
            }
            try MonitorSession.requireTerminal()
            settings = Self.settings(replaying: events)
            source = ReplaySource(events: events, speed: speed ?? 1, name: file, inbox: inbox)
        }
        do {
            try MonitorSession.run(source: source, inbox: inbox, settings: settings, loopDelay: nil)
        } catch let failure as EventLogReader.Failure {
            // A followed log that went bad (or away) mid-session: reported once the terminal is back.
            _ = try Self.reportingFailures { () throws(EventLogReader.Failure) in throw failure }
        }
    }

    /// Runs `body`; a missing or unreadable log exits with status 66, a corrupt one with 64,
    /// naming the line.
    private static func reportingFailures<T>(_ body: () throws(EventLogReader.Failure) -> T) throws -> T {
        do {
            return try body()
        } catch {
            if case .unreadable = error {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                throw ExitCode(66)
            }
            throw ValidationError("\(error)")
        }
    }

    /// The monitor's settings for a log: the first pool's size, the last job's mode and chunk size.
    private static func settings(replaying events: [PoolEvent]) -> RunSettings {
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
        return settings
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
