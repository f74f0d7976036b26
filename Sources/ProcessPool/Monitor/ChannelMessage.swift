import Foundation

/// A line a pool writes on the monitor channel (see ``MonitorChannel``).
public enum ChannelMessage: Sendable, Equatable {
    /// The first line of every connection: who is on the other end.
    case hello(ChannelHello)
    /// A pool event, in the JSON Lines schema (the line is exactly ``PoolEvent/jsonLine``).
    case event(PoolEvent)
    /// The answer to a command.
    case reply(ChannelReply)
    /// The pool refused the connection (for example: another user); the connection then closes.
    case refused(String)

    /// This message as one JSON line (no newline).
    public var line: String {
        switch self {
        case .event(let event):
            return event.jsonLine
        case .hello(let hello):
            var line = JSONLineWriter()
            line.field("channel", "hello"); line.field("protocol", hello.protocolVersion)
            line.field("schema", hello.schemaVersion); line.field("pid", hello.pid); line.field("pool", hello.pool)
            line.field("program", hello.program); line.field("workers", hello.workers)
            line.field("jobs_running", hello.jobsRunning); line.field("engine", hello.engine)
            return line.finishedText()
        case .reply(let reply):
            var line = JSONLineWriter()
            line.field("channel", "reply"); line.field("id", reply.id); line.field("ok", reply.accepted)
            if let message = reply.message { line.field("message", message) }
            return line.finishedText()
        case .refused(let why):
            var line = JSONLineWriter()
            line.field("channel", "refused"); line.field("message", why)
            return line.finishedText()
        }
    }

    /// Reads one line written by ``line``, from its UTF-8 bytes (no newline): the busiest
    /// events are read without a `String` made of them. Other lines read as ``init(line:)``
    /// reads their text (invalid UTF-8 repaired, as a `String` made of the bytes has it).
    /// - Throws: ``EventLogError`` saying what is wrong with it.
    public init(lineUTF8 bytes: UnsafeBufferPointer<UInt8>) throws {
        if let event = JSONLineScanner.hotEvent(bytes) {
            self = .event(event)
            return
        }
        let line = String(decoding: bytes, as: UTF8.self)
        // An event line the fast path did not take: straight to the general reader (the fast
        // path has had its go).
        if line.hasPrefix(Self.channelPrefix) {
            try self.init(line: line)
        } else {
            self = .event(try PoolEvent(generalJSONLine: line))
        }
    }

    /// How a line that is not an event begins.
    private static let channelPrefix = "{\"channel\""

    /// Reads one line written by ``line``.
    /// - Throws: ``EventLogError`` saying what is wrong with it.
    public init(line: String) throws {
        guard line.hasPrefix(Self.channelPrefix) else {
            self = .event(try PoolEvent(jsonLine: line))
            return
        }
        let fields: ChannelFields
        do {
            fields = try JSONDecoder().decode(ChannelFields.self, from: Data(line.utf8))
        } catch {
            throw EventLogError(line: 0, message: "not a channel message: \(line.prefix(80))")
        }
        switch fields.channel {
        case "hello":
            guard let version = fields.protocol, let schema = fields.schema, let pid = fields.pid, let pool = fields.pool else {
                throw EventLogError(line: 0, message: "a hello without protocol, schema, pid and pool")
            }
            self = .hello(ChannelHello(protocolVersion: version, schemaVersion: schema, pid: pid, pool: pool,
                                       program: fields.program ?? "", workers: max(0, fields.workers ?? 0),
                                       jobsRunning: max(0, fields.jobs_running ?? 0), engine: fields.engine ?? "unknown"))
        case "reply":
            guard let id = fields.id, let ok = fields.ok else { throw EventLogError(line: 0, message: "a reply without id and ok") }
            self = .reply(ChannelReply(id: id, accepted: ok, message: fields.message))
        case "refused":
            self = .refused(fields.message ?? "refused")
        default:
            throw EventLogError(line: 0, message: "unknown channel message \"\(fields.channel)\"")
        }
    }
}

/// Who is on the pool's end of a connection.
public struct ChannelHello: Sendable, Equatable {
    public var protocolVersion: Int
    /// The event schema version of the lines that follow.
    public var schemaVersion: Int
    /// The process the pool belongs to.
    public var pid: Int32
    /// The pool's number within that process (``ProcessPool/id``).
    public var pool: Int
    /// The program's command line, as `/proc/PID/cmdline` has it (arguments joined by spaces).
    public var program: String
    /// Workers the pool keeps now.
    public var workers: Int
    /// Jobs submitted and not complete.
    public var jobsRunning: Int
    /// Which pool this is: `swift` for ``ProcessPool``, `cpython` for Python's `multiprocessing.Pool`.
    public var engine: String

    public init(protocolVersion: Int = MonitorChannel.protocolVersion, schemaVersion: Int = PoolEvent.jsonSchemaVersion,
                pid: Int32, pool: Int, program: String, workers: Int, jobsRunning: Int, engine: String = "swift") {
        self.protocolVersion = protocolVersion
        self.schemaVersion = schemaVersion
        self.pid = pid
        self.pool = pool
        self.program = program
        self.workers = workers
        self.jobsRunning = jobsRunning
        self.engine = engine
    }
}

/// A pool's answer to a ``ChannelCommand``.
public struct ChannelReply: Sendable, Equatable {
    /// The command's id.
    public var id: Int
    public var accepted: Bool
    /// Why it was refused, or what was done.
    public var message: String?

    public init(id: Int, accepted: Bool, message: String? = nil) {
        self.id = id
        self.accepted = accepted
        self.message = message
    }
}

/// Every field a channel message may have.
private struct ChannelFields: Decodable {
    var channel: String
    var `protocol`, schema, pool, workers, jobs_running, id: Int?
    var pid: Int32?
    var ok: Bool?
    var program, message, engine: String?
}
