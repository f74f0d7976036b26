import Foundation

/// The JSON Lines form of ``PoolEvent``: one object per line, schema version 1.
///
/// Every line has `"v": 1`, `"t"` (seconds since the pool started, exact to the nanosecond) and
/// `"event"` (the case name); the other fields are the case's, named as in Swift, with these
/// spellings: a worker exit has `"exit"` or `"signal"` (the other is absent) and `"reason"`; queue
/// depths are `"queued_chunks"` and `"queued_items"`; an item's duration is `"ns"`; a failure is
/// `"error"` (absent on success). The README lists every event with an example.
extension PoolEvent {
    /// The schema version written in every line's `"v"`.
    public static let jsonSchemaVersion = 1

    /// This event as one line of JSON (no newline).
    public var jsonLine: String {
        var line = JSONLineWriter()
        line.field("v", Self.jsonSchemaVersion)
        line.raw("t", "\(time / 1_000_000_000).\(String(time % 1_000_000_000).leftPadded(to: 9))")
        switch kind {
        case .workerStarted(let slot, let pid):
            line.field("event", "workerStarted"); line.field("slot", slot); line.field("pid", pid)
        case .workerReady(let slot, let pid):
            line.field("event", "workerReady"); line.field("slot", slot); line.field("pid", pid)
        case .workerExited(let slot, let pid, let termination, let reason):
            line.field("event", "workerExited"); line.field("slot", slot); line.field("pid", pid)
            switch termination {
            case .exited(let code): line.field("exit", code)
            case .signaled(let signal): line.field("signal", signal)
            }
            line.field("reason", reason.rawValue)
        case .jobSubmitted(let job):
            line.field("event", "jobSubmitted"); line.field("job", job.id); line.field("label", job.label)
            line.field("function", job.function); line.field("items", job.itemCount)
            line.field("chunksize", job.chunksize); line.field("auto", job.chunksizeIsAutomatic)
            line.field("mode", job.mode.rawValue)
        case .chunksQueued(let job, let firstChunk, let chunks, let start, let count, let queue):
            line.field("event", "chunksQueued"); line.field("job", job); line.field("chunk", firstChunk)
            line.field("chunks", chunks); line.field("start", start); line.field("count", count); line.queue(queue)
        case .chunkRequeued(let job, let chunk, let start, let count, let queue):
            line.field("event", "chunkRequeued"); line.field("job", job); line.field("chunk", chunk)
            line.field("start", start); line.field("count", count); line.queue(queue)
        case .chunkDispatched(let job, let chunk, let start, let count, let pid, let queue):
            line.field("event", "chunkDispatched"); line.field("job", job); line.field("chunk", chunk)
            line.field("start", start); line.field("count", count); line.field("pid", pid); line.queue(queue)
        case .itemStarted(let job, let index, let pid):
            line.field("event", "itemStarted"); line.field("job", job); line.field("index", index); line.field("pid", pid)
        case .itemFinished(let job, let index, let pid, let error, let nanoseconds):
            line.field("event", "itemFinished"); line.field("job", job); line.field("index", index)
            line.field("pid", pid); line.field("ns", nanoseconds)
            if let error { line.field("error", error) }
        case .itemRetried(let job, let index, let attempt, let deadPID):
            line.field("event", "itemRetried"); line.field("job", job); line.field("index", index)
            line.field("attempt", attempt); line.field("dead_pid", deadPID)
        case .resultsDelivered(let job, let start, let count):
            line.field("event", "resultsDelivered"); line.field("job", job); line.field("start", start); line.field("count", count)
        case .jobCompleted(let job, let error):
            line.field("event", "jobCompleted"); line.field("job", job)
            if let error { line.field("error", error) }
        case .poolResized(let from, let to):
            line.field("event", "poolResized"); line.field("from", from); line.field("to", to)
        case .poolStateChanged(let state):
            line.field("event", "poolState"); line.field("state", state.rawValue)
        case .workerOutput(let pid, let text):
            line.field("event", "workerOutput"); line.field("pid", pid); line.field("line", text)
        case .workerFault(let pid, let message):
            line.field("event", "workerFault"); line.field("pid", pid); line.field("message", message)
        case .eventsDropped(let count):
            line.field("event", "eventsDropped"); line.field("count", count)
        }
        return line.finish()
    }

    /// Parses one line written by ``jsonLine``.
    /// - Throws: ``EventLogError`` saying what is wrong (the caller adds the line number).
    public init(jsonLine: String) throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(jsonLine.utf8))
        } catch {
            throw EventLogError(line: 0, message: "not valid JSON")
        }
        guard let fields = object as? [String: Any] else { throw EventLogError(line: 0, message: "not a JSON object") }
        let reader = JSONLineReader(fields: fields)
        let version = try reader.int("v")
        guard version == Self.jsonSchemaVersion else {
            throw EventLogError(line: 0, message: "schema version \(version) is not supported (this build reads \(Self.jsonSchemaVersion))")
        }
        // Doubles keep 15 significant digits: nanoseconds survive for runs under about 11 days.
        guard let seconds = fields["t"] as? NSNumber, !(fields["t"] is Bool), seconds.doubleValue >= 0,
              seconds.doubleValue.isFinite else {
            throw EventLogError(line: 0, message: "missing or negative \"t\"")
        }
        let time = UInt64((seconds.doubleValue * 1e9).rounded())
        let name = try reader.string("event")
        let kind: Kind
        switch name {
        case "workerStarted": kind = .workerStarted(slot: try reader.int("slot"), pid: try reader.pid("pid"))
        case "workerReady": kind = .workerReady(slot: try reader.int("slot"), pid: try reader.pid("pid"))
        case "workerExited":
            let termination: WorkerTermination
            if let signal = reader.optionalInt("signal") {
                termination = .signaled(signal: Int32(signal))
            } else {
                termination = .exited(code: Int32(try reader.int("exit")))
            }
            guard let reason = WorkerExitReason(rawValue: try reader.string("reason")) else {
                throw EventLogError(line: 0, message: "unknown exit reason")
            }
            kind = .workerExited(slot: try reader.int("slot"), pid: try reader.pid("pid"), termination: termination, reason: reason)
        case "jobSubmitted":
            guard let mode = JobMode(rawValue: try reader.string("mode")) else {
                throw EventLogError(line: 0, message: "unknown job mode")
            }
            kind = .jobSubmitted(JobDescriptor(
                id: try reader.int("job"), label: try reader.string("label"), function: try reader.string("function"),
                itemCount: try reader.int("items"), chunksize: try reader.int("chunksize"),
                chunksizeIsAutomatic: try reader.bool("auto"), mode: mode))
        case "chunksQueued":
            kind = .chunksQueued(job: try reader.int("job"), firstChunk: try reader.int("chunk"), chunks: try reader.int("chunks"),
                                 start: try reader.int("start"), count: try reader.int("count"), queue: try reader.queue())
        case "chunkRequeued":
            kind = .chunkRequeued(job: try reader.int("job"), chunk: try reader.int("chunk"), start: try reader.int("start"),
                                  count: try reader.int("count"), queue: try reader.queue())
        case "chunkDispatched":
            kind = .chunkDispatched(job: try reader.int("job"), chunk: try reader.int("chunk"), start: try reader.int("start"),
                                    count: try reader.int("count"), pid: try reader.pid("pid"), queue: try reader.queue())
        case "itemStarted":
            kind = .itemStarted(job: try reader.int("job"), index: try reader.int("index"), pid: try reader.pid("pid"))
        case "itemFinished":
            kind = .itemFinished(job: try reader.int("job"), index: try reader.int("index"), pid: try reader.pid("pid"),
                                 error: reader.optionalString("error"), nanoseconds: UInt64(try reader.int("ns")))
        case "itemRetried":
            kind = .itemRetried(job: try reader.int("job"), index: try reader.int("index"), attempt: try reader.int("attempt"),
                                deadPID: try reader.pid("dead_pid"))
        case "resultsDelivered":
            kind = .resultsDelivered(job: try reader.int("job"), start: try reader.int("start"), count: try reader.int("count"))
        case "jobCompleted": kind = .jobCompleted(job: try reader.int("job"), error: reader.optionalString("error"))
        case "poolResized": kind = .poolResized(from: try reader.int("from"), to: try reader.int("to"))
        case "poolState":
            guard let state = PoolRunState(rawValue: try reader.string("state")) else {
                throw EventLogError(line: 0, message: "unknown pool state")
            }
            kind = .poolStateChanged(state)
        case "workerOutput": kind = .workerOutput(pid: try reader.pid("pid"), line: try reader.string("line"))
        case "workerFault": kind = .workerFault(pid: try reader.pid("pid"), message: try reader.string("message"))
        case "eventsDropped": kind = .eventsDropped(count: try reader.int("count"))
        default: throw EventLogError(line: 0, message: "unknown event \"\(name)\"")
        }
        self.init(time: time, kind: kind)
    }
}

/// A line of an event log that cannot be read.
public struct EventLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line number (0 when not known yet).
    public var line: Int
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}

/// Builds one JSON object with fields in a fixed order, without `JSONEncoder`'s per-line cost.
private struct JSONLineWriter {
    private var text = "{"

    mutating func raw(_ key: String, _ value: String) {
        if text.count > 1 { text += "," }
        text += "\"\(key)\":\(value)"
    }

    mutating func field(_ key: String, _ value: some BinaryInteger) { raw(key, "\(value)") }
    mutating func field(_ key: String, _ value: Bool) { raw(key, value ? "true" : "false") }
    mutating func field(_ key: String, _ value: String) { raw(key, Self.quote(value)) }

    mutating func queue(_ depth: QueueDepth) {
        field("queued_chunks", depth.chunks)
        field("queued_items", depth.items)
    }

    func finish() -> String { text + "}" }

    static func quote(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Typed access to the fields of a parsed line, with errors that name the field.
private struct JSONLineReader {
    let fields: [String: Any]

    func int(_ key: String) throws -> Int {
        guard let value = optionalInt(key) else { throw EventLogError(line: 0, message: "missing or non-integer \"\(key)\"") }
        return value
    }

    func optionalInt(_ key: String) -> Int? {
        guard let number = fields[key] as? NSNumber, !(fields[key] is Bool) else { return nil }
        let double = number.doubleValue
        guard double == double.rounded(), abs(double) < 9e18 else { return nil }
        return number.intValue
    }

    func pid(_ key: String) throws -> Int32 {
        let value = try int(key)
        guard let pid = Int32(exactly: value) else { throw EventLogError(line: 0, message: "\"\(key)\" out of range") }
        return pid
    }

    func bool(_ key: String) throws -> Bool {
        guard let value = fields[key] as? Bool else { throw EventLogError(line: 0, message: "missing or non-boolean \"\(key)\"") }
        return value
    }

    func string(_ key: String) throws -> String {
        if let value = fields[key] as? String { return value }
        throw EventLogError(line: 0, message: "missing or non-string \"\(key)\"")
    }

    func optionalString(_ key: String) -> String? { fields[key] as? String }

    func queue() throws -> QueueDepth {
        QueueDepth(chunks: try int("queued_chunks"), items: try int("queued_items"))
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
