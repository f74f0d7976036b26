import Foundation

/// What a monitor asks of a pool over the channel; each is answered with a ``ChannelReply``.
public struct ChannelCommand: Sendable, Equatable {
    /// Chosen by the monitor; the reply carries it back.
    public var id: Int
    public var action: Action

    public enum Action: Sendable, Equatable {
        /// Keep this many workers (grow at once; surplus workers retire after their chunk).
        case resize(workers: Int)
        /// Send `signal` to the worker process `pid` (only a current worker of this pool).
        case signal(pid: Int32, signal: Int32)
        /// Use this chunk size for the pool's next submissions (nil: their own again).
        case chunksize(Int?)
    }

    public init(id: Int, _ action: Action) {
        self.id = id
        self.action = action
    }

    /// This command as one JSON line (no newline).
    public var line: String {
        var line = JSONLineWriter()
        switch action {
        case .resize(let workers):
            line.field("command", "resize"); line.field("id", id); line.field("workers", workers)
        case .signal(let pid, let signal):
            line.field("command", "signal"); line.field("id", id); line.field("pid", pid); line.field("signal", signal)
        case .chunksize(let size):
            line.field("command", "chunksize"); line.field("id", id)
            if let size { line.field("chunksize", size) }
        }
        return line.finishedText()
    }

    /// Reads one line written by ``line``.
    /// - Throws: ``EventLogError`` saying what is wrong with it.
    public init(line: String) throws {
        struct Fields: Decodable {
            var command: String
            var id: Int
            var workers, chunksize: Int?
            var pid, signal: Int32?
        }
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(line.utf8))
        } catch {
            throw EventLogError(line: 0, message: "not a command: \(line.prefix(80))")
        }
        id = fields.id
        switch fields.command {
        case "resize":
            guard let workers = fields.workers else { throw EventLogError(line: 0, message: "resize needs \"workers\"") }
            action = .resize(workers: workers)
        case "signal":
            guard let pid = fields.pid, let signal = fields.signal else {
                throw EventLogError(line: 0, message: "signal needs \"pid\" and \"signal\"")
            }
            action = .signal(pid: pid, signal: signal)
        case "chunksize":
            action = .chunksize(fields.chunksize)
        default:
            throw EventLogError(line: 0, message: "unknown command \"\(fields.command)\"")
        }
    }
}
