import Foundation

/// Reads a JSON Lines event log written by `--events`, for replay.
public enum EventLogReader {
    /// Why a log could not be read.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The file is missing or unreadable (exit status 66 on the command line).
        case unreadable(path: String, reason: String)
        /// A line is not a valid event (exit status 65).
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
        var events: [PoolEvent] = []
        var lineNumber = 0
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for line in lines {
            lineNumber += 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
            guard let text = String(data: Data(line), encoding: .utf8) else {
                throw .corrupt(path: path, EventLogError(line: lineNumber, message: "not UTF-8 text"))
            }
            do {
                events.append(try PoolEvent(jsonLine: text))
            } catch var error as EventLogError {
                error.line = lineNumber
                if lineNumber == lines.count && data.last != UInt8(ascii: "\n") {
                    error.message += " (the last line looks truncated)"
                }
                throw .corrupt(path: path, error)
            } catch {
                throw .corrupt(path: path, EventLogError(line: lineNumber, message: "\(error)"))
            }
        }
        guard !events.isEmpty else { throw .empty(path: path) }
        return events
    }
}
