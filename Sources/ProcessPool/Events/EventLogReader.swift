import Foundation

/// Reads a whole JSON Lines event log written by `--events`, for replay. (A log still being
/// written is read as it grows with ``EventLogDecoder``.)
public enum EventLogReader {
    /// Why a log could not be read.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The file is missing or unreadable (exit status 66 on the command line).
        case unreadable(path: String, reason: String)
        /// A line is not a valid event (exit status 64 on the command line).
        case corrupt(path: String, EventLogError)
        /// The file holds no events at all.
        case empty(path: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot read the event log '\(path)': \(reason)"
            case .corrupt(let path, let error): "\(path): line \(error.line): \(error.message)"
            case .empty(let path): "\(path): the event log is empty"
            }
        }
    }

    /// Parses every line of the file at `path` (blank lines are skipped).
    /// - Throws: ``Failure``, naming the first bad line.
    public static func read(path: String) throws(Failure) -> [PoolEvent] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).localizedFailureReason
                ?? (FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file")
            throw .unreadable(path: path, reason: reason)
        }
        var decoder = EventLogDecoder()
        let events: [PoolEvent]
        do {
            events = try decoder.decode(data) + decoder.finish()
        } catch {
            throw .corrupt(path: path, error)
        }
        guard !events.isEmpty else { throw .empty(path: path) }
        return events
    }
}
