import Foundation

/// The JSON Lines form of ``PoolEvent``: one object per line, schema version 3.
///
/// Version 3 adds `chunksDispatched` (consecutive chunks sent to one worker at once, one line for
/// the run), `jobCancelled` (a job the caller cancelled ends with it instead of `jobCompleted`)
/// and the death report to `workerExited` (`lifetime_ns`, `peak_rss_kb`, `oom_kill`,
/// `item_job`, `item_index`, `output`: its last lines, `requeued`: `[{job, chunk, start, count}]`,
/// all optional), and changes nothing else; versions 1 and 2 still read.
///
/// Version 2 added `poolCreated` (the first line of every pool's stream, so a log of several runs
/// says where each begins), `itemsFinished` (a run of short items in one line), `jobProgress` (a
/// late subscriber's snapshot) and `settingsChanged`. Every line has `"v"`, `"t"` (seconds since
/// the pool started, exact to the nanosecond) and `"event"` (the case name); the other fields are the case's, named as in Swift, with these
/// spellings: a worker exit has `"exit"` or `"signal"` (the other is absent) and `"reason"`; queue
/// depths are `"queued_chunks"` and `"queued_items"`; an item's duration is `"ns"`; a failure is
/// `"error"` (absent on success). The README lists every event with an example.
extension PoolEvent {
    /// The schema version written in every line's `"v"`.
    public static let jsonSchemaVersion = 3
    /// Item, chunk and job numbers an event may carry (the engine's wire numbers them in 32 bits).
    public static let validRange: ClosedRange<Int> = 0...Int(Int32.max)
    /// Worker slots and pool sizes an event may carry.
    public static let validWorkerRange: ClosedRange<Int> = 0...65_536
    /// The longest host name an event may carry, in UTF-8 bytes (DNS names stop at 253).
    public static let maxHostLength = 255

    /// Whether `host` may stand in an event: 1…``maxHostLength`` bytes, no control characters
    /// or spaces (it is drawn on a screen and compared as a key).
    public static func isValidHost(_ host: String) -> Bool {
        let count = host.utf8.count
        return count >= 1 && count <= maxHostLength
            && !host.unicodeScalars.contains { $0.value <= 0x20 || (0x7f...0x9f).contains($0.value) }
    }
    /// The latest event time a log may hold, in seconds (about 30 years).
    static let latestTime: Double = 1e9

    /// The schema versions ``init(jsonLine:)`` reads.
    public static let readableSchemaVersions: ClosedRange<Int> = 1...3

    /// This event as one line of JSON (no newline).
    public var jsonLine: String {
        var bytes: [UInt8] = []
        appendJSONLine(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends ``jsonLine``'s UTF-8 bytes (no newline) to `bytes`: what the monitor link and the
    /// event log write, without a `String` per event.
    func appendJSONLine(to bytes: inout [UInt8]) {
        if HotJSONLineWriter.append(self, to: &bytes) { return }
        appendGeneralJSONLine(to: &bytes)
    }

    /// ``appendJSONLine(to:)`` for every event, without the fast writer of the busiest ones.
    func appendGeneralJSONLine(to bytes: inout [UInt8]) {
        var line = JSONLineWriter(appendingTo: bytes)
        bytes = []  // `line` holds the only reference while it writes: appends stay in place
        defer { bytes = line.finish() }
        line.field("v", Self.jsonSchemaVersion)
        line.time("t", time)
        switch kind {
        case .poolCreated(let pool, let pid, let workers):
            line.field("event", "poolCreated"); line.field("pool", pool); line.field("pid", pid); line.field("workers", workers)
        case .itemsFinished(let job, let start, let count, let pid, let nanoseconds):
            line.field("event", "itemsFinished"); line.field("job", job); line.field("start", start)
            line.field("count", count); line.field("pid", pid); line.field("ns", nanoseconds)
        case .jobProgress(let job, let finished, let failed, let delivered, let chunksDone):
            line.field("event", "jobProgress"); line.field("job", job); line.field("finished", finished)
            line.field("failed", failed); line.field("delivered", delivered); line.field("chunks_done", chunksDone)
        case .settingsChanged(let chunksize):
            line.field("event", "settingsChanged")
            if let chunksize { line.field("chunksize", chunksize) }
        case .workerStarted(let slot, let pid, let host):
            line.field("event", "workerStarted"); line.field("slot", slot); line.field("pid", pid)
            if let host { line.field("host", host) }
        case .workerReady(let slot, let pid):
            line.field("event", "workerReady"); line.field("slot", slot); line.field("pid", pid)
        case .workerExited(let slot, let pid, let termination, let reason, let details):
            line.field("event", "workerExited"); line.field("slot", slot); line.field("pid", pid)
            switch termination {
            case .exited(let code): line.field("exit", code)
            case .signaled(let signal): line.field("signal", signal)
            }
            line.field("reason", reason.rawValue)
            if let details { line.details(details) }
        case .jobSubmitted(let job):
            line.field("event", "jobSubmitted"); line.field("job", job.id); line.field("label", job.label)
            line.field("function", job.function); line.field("items", job.itemCount)
            line.field("chunksize", job.chunksize); line.field("auto", job.chunksizeIsAutomatic)
            line.field("mode", job.mode.rawValue)
        case .chunksQueued(let job, let firstChunk, let chunks, let start, let count, let queue):
            line.field("event", "chunksQueued"); line.field("job", job); line.field("chunk", firstChunk)
            line.field("chunks", chunks); line.field("start", start); line.field("count", count); line.queue(queue)
        case .chunksRecut(let job, let chunksize, let firstChunk, let chunks, let start, let count, let queue):
            line.field("event", "chunksRecut"); line.field("job", job); line.field("chunksize", chunksize)
            line.field("chunk", firstChunk); line.field("chunks", chunks); line.field("start", start)
            line.field("count", count); line.queue(queue)
        case .chunkRequeued(let job, let chunk, let start, let count, let queue):
            line.field("event", "chunkRequeued"); line.field("job", job); line.field("chunk", chunk)
            line.field("start", start); line.field("count", count); line.queue(queue)
        case .chunkDispatched(let job, let chunk, let start, let count, let pid, let queue):
            line.field("event", "chunkDispatched"); line.field("job", job); line.field("chunk", chunk)
            line.field("start", start); line.field("count", count); line.field("pid", pid); line.queue(queue)
        case .chunksDispatched(let job, let firstChunk, let chunks, let start, let count, let pid, let queue):
            line.field("event", "chunksDispatched"); line.field("job", job); line.field("chunk", firstChunk)
            line.field("chunks", chunks); line.field("start", start); line.field("count", count); line.field("pid", pid)
            line.queue(queue)
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
        case .jobCancelled(let job):
            line.field("event", "jobCancelled"); line.field("job", job)
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
    }

    /// Parses one line written by ``jsonLine``.
    /// - Throws: ``EventLogError`` saying what is wrong (the caller adds the line number).
    public init(jsonLine: String) throws {
        // The busiest events straight from their bytes, if they are plain and valid.
        if let event = JSONLineScanner.hotEvent(jsonLine) {
            self = event
            return
        }
        try self.init(generalJSONLine: jsonLine)
    }

    /// Parses one line written by ``jsonLine``, from its UTF-8 bytes (no newline): the busiest
    /// events (runs and chunks of items) are read without a `String` made of them.
    /// - Throws: ``EventLogError`` saying what is wrong (not UTF-8 text, or as ``init(jsonLine:)``).
    public init(jsonLineUTF8 bytes: UnsafeBufferPointer<UInt8>) throws {
        if let event = JSONLineScanner.hotEvent(bytes) {
            self = event
            return
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw EventLogError(line: 0, message: "not UTF-8 text")
        }
        try self.init(generalJSONLine: text)
    }

    /// ``init(jsonLine:)`` without its path for the busiest events: the reader that has the
    /// last word on every line.
    init(generalJSONLine jsonLine: String) throws {
        // The plain lines our writer makes take the fast path; anything else goes to JSONDecoder.
        if let event = try JSONLineScanner.scan(jsonLine, { try PoolEvent($0) }) {
            self = event
            return
        }
        let line: JSONLine
        do {
            line = try JSONDecoder().decode(JSONLine.self, from: Data(jsonLine.utf8))
        } catch DecodingError.dataCorrupted {
            throw EventLogError(line: 0, message: "not valid JSON")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let field = context.codingPath.last?.stringValue ?? "the line"
            throw EventLogError(line: 0, message: "\"\(field)\" has the wrong type")
        } catch DecodingError.keyNotFound(let key, _) {
            throw EventLogError(line: 0, message: "missing \"\(key.stringValue)\"")
        } catch {
            throw EventLogError(line: 0, message: "not a JSON object")
        }
        try self.init(line)
    }

    private init(_ line: borrowing JSONLine) throws {
        guard Self.readableSchemaVersions.contains(line.v) else {
            throw EventLogError(line: 0, message: "schema version \(line.v) is not supported (this build reads 1 to 3)")
        }
        // Doubles keep 15 significant digits: nanoseconds survive for runs under about 11 days.
        guard line.t.isFinite, line.t >= 0 else { throw EventLogError(line: 0, message: "\"t\" must be a time in seconds") }
        guard line.t <= Self.latestTime else {
            throw EventLogError(line: 0, message: "\"t\" is \(line.t) s, past any run (at most \(Int(Self.latestTime)) s)")
        }
        try line.validate()
        let time = UInt64((line.t * 1e9).rounded())
        let kind: Kind
        // The events a busy pool sends most come first: a `switch` over strings tries its cases in order.
        switch line.event {
        case "poolCreated":
            kind = .poolCreated(pool: try line.need(line.pool, "pool"), pid: try line.need(line.pid, "pid"),
                                workers: try line.need(line.workers, "workers"))
        case "itemsFinished":
            kind = .itemsFinished(job: try line.need(line.job, "job"), start: try line.need(line.start, "start"),
                                  count: try line.need(line.count, "count"), pid: try line.need(line.pid, "pid"),
                                  nanoseconds: try line.need(line.ns, "ns"))
        case "chunksDispatched":
            let chunks = try line.need(line.chunks, "chunks")
            let count = try line.need(line.count, "count")
            // Every chunk holds at least one item.
            guard chunks >= 1, count >= chunks else {
                throw EventLogError(line: 0, message: "\(chunks) chunks cannot hold \(count) items")
            }
            kind = .chunksDispatched(job: try line.need(line.job, "job"), firstChunk: try line.need(line.chunk, "chunk"),
                                     chunks: chunks, start: try line.need(line.start, "start"), count: count,
                                     pid: try line.need(line.pid, "pid"), queue: try line.queue())
        case "itemFinished":
            kind = .itemFinished(job: try line.need(line.job, "job"), index: try line.need(line.index, "index"),
                                 pid: try line.need(line.pid, "pid"), error: line.error, nanoseconds: try line.need(line.ns, "ns"))
        case "resultsDelivered":
            kind = .resultsDelivered(job: try line.need(line.job, "job"), start: try line.need(line.start, "start"),
                                     count: try line.need(line.count, "count"))
        case "jobProgress":
            kind = .jobProgress(job: try line.need(line.job, "job"), finished: try line.need(line.finished, "finished"),
                                failed: try line.need(line.failed, "failed"), delivered: try line.need(line.delivered, "delivered"),
                                chunksDone: try line.need(line.chunks_done, "chunks_done"))
        case "settingsChanged": kind = .settingsChanged(chunksize: line.chunksize)
        case "workerStarted":
            // `host` came later (workers started through ssh or srun): older logs have none.
            kind = .workerStarted(slot: try line.need(line.slot, "slot"), pid: try line.need(line.pid, "pid"), host: line.host)
        case "workerReady": kind = .workerReady(slot: try line.need(line.slot, "slot"), pid: try line.need(line.pid, "pid"))
        case "workerExited":
            let termination: WorkerTermination = if let signal = line.signal {
                .signaled(signal: signal)
            } else {
                .exited(code: try line.need(line.exit, "exit"))
            }
            guard let reason = WorkerExitReason(rawValue: try line.need(line.reason, "reason")) else {
                throw EventLogError(line: 0, message: "unknown exit reason")
            }
            kind = .workerExited(slot: try line.need(line.slot, "slot"), pid: try line.need(line.pid, "pid"),
                                 termination: termination, reason: reason, details: line.exitDetails())
        case "jobSubmitted":
            guard let mode = JobMode(rawValue: try line.need(line.mode, "mode")) else {
                throw EventLogError(line: 0, message: "unknown job mode")
            }
            kind = .jobSubmitted(JobDescriptor(
                id: try line.need(line.job, "job"), label: try line.need(line.label, "label"),
                function: try line.need(line.function, "function"), itemCount: try line.need(line.items, "items"),
                chunksize: try line.need(line.chunksize, "chunksize"), chunksizeIsAutomatic: try line.need(line.auto, "auto"),
                mode: mode))
        case "chunksQueued":
            kind = .chunksQueued(job: try line.need(line.job, "job"), firstChunk: try line.need(line.chunk, "chunk"),
                                 chunks: try line.need(line.chunks, "chunks"), start: try line.need(line.start, "start"),
                                 count: try line.need(line.count, "count"), queue: try line.queue())
        case "chunksRecut":
            kind = .chunksRecut(job: try line.need(line.job, "job"), chunksize: try line.need(line.chunksize, "chunksize"),
                                firstChunk: try line.need(line.chunk, "chunk"), chunks: try line.need(line.chunks, "chunks"),
                                start: try line.need(line.start, "start"), count: try line.need(line.count, "count"),
                                queue: try line.queue())
        case "chunkRequeued":
            kind = .chunkRequeued(job: try line.need(line.job, "job"), chunk: try line.need(line.chunk, "chunk"),
                                  start: try line.need(line.start, "start"), count: try line.need(line.count, "count"),
                                  queue: try line.queue())
        case "chunkDispatched":
            kind = .chunkDispatched(job: try line.need(line.job, "job"), chunk: try line.need(line.chunk, "chunk"),
                                    start: try line.need(line.start, "start"), count: try line.need(line.count, "count"),
                                    pid: try line.need(line.pid, "pid"), queue: try line.queue())
        case "itemStarted":
            kind = .itemStarted(job: try line.need(line.job, "job"), index: try line.need(line.index, "index"),
                                pid: try line.need(line.pid, "pid"))
        case "itemRetried":
            kind = .itemRetried(job: try line.need(line.job, "job"), index: try line.need(line.index, "index"),
                                attempt: try line.need(line.attempt, "attempt"), deadPID: try line.need(line.dead_pid, "dead_pid"))
        case "jobCompleted": kind = .jobCompleted(job: try line.need(line.job, "job"), error: line.error)
        case "jobCancelled" where line.v >= 3: kind = .jobCancelled(job: try line.need(line.job, "job"))
        case "poolResized": kind = .poolResized(from: try line.need(line.from, "from"), to: try line.need(line.to, "to"))
        case "poolState":
            guard let state = PoolRunState(rawValue: try line.need(line.state, "state")) else {
                throw EventLogError(line: 0, message: "unknown pool state")
            }
            kind = .poolStateChanged(state)
        case "workerOutput": kind = .workerOutput(pid: try line.need(line.pid, "pid"), line: try line.need(line.line, "line"))
        case "workerFault":
            kind = .workerFault(pid: try line.need(line.pid, "pid"), message: try line.need(line.message, "message"))
        case "eventsDropped": kind = .eventsDropped(count: try line.need(line.count, "count"))
        default: throw EventLogError(line: 0, message: "unknown event \"\(line.event)\"")
        }
        self.init(time: time, kind: kind)
    }
}

/// Every field any event line may have; which ones an event needs depends on `event`.
struct JSONLine: Decodable {
    var v: Int
    var t: Double
    var event: String
    var slot, job, chunk, chunks, start, count, index, items, chunksize, attempt, from, to, queued_chunks, queued_items: Int?
    var pool, workers, finished, failed, delivered, chunks_done: Int?
    var pid, dead_pid, exit, signal: Int32?
    var ns: UInt64?
    var auto: Bool?
    var reason, label, function, mode, error, state, line, message, host: String?
    // Schema 3: a worker's death report (see ``WorkerExitDetails``).
    var lifetime_ns: UInt64?
    var peak_rss_kb, item_job, item_index: Int?
    var oom_kill: Bool?
    var output: [String]?
    var requeued: [RequeuedChunk]?

    struct RequeuedChunk: Decodable {
        var job, chunk, start, count: Int
    }

    /// The death report of a `workerExited` line, nil when it has none (schemas 1 and 2). Counts
    /// were checked by ``validate()``; lines and chunks past the report's bounds are dropped.
    func exitDetails() -> WorkerExitDetails? {
        guard let lifetime_ns else { return nil }
        let chunks = (requeued ?? []).prefix(WorkerExitDetails.maxRequeued).map {
            WorkerExitDetails.Requeued(job: $0.job, chunk: $0.chunk, start: $0.start, count: $0.count)
        }
        return WorkerExitDetails(lifetime: lifetime_ns, peakRSSKilobytes: peak_rss_kb, oomKilled: oom_kill ?? false,
                                 job: item_job, index: item_index,
                                 lastOutput: Array((output ?? []).suffix(WorkerExitDetails.maxOutputLines)),
                                 requeued: Array(chunks))
    }

    /// Every number a line carries, checked before anything is built from it: a log is
    /// untrusted input, and a number that sizes a table, a range or a loop must not be able to
    /// trap or to ask for terabytes (see ``PoolEvent/validRange``).
    func validate() throws {
        // One call per field rather than a table of them: this runs for every line the monitor
        // socket carries, and a table built per line was a tenth of a line's cost.
        func checkCount(_ name: StaticString, _ value: Int?) throws {
            if let value, !PoolEvent.validRange.contains(value) {
                throw EventLogError(line: 0, message: "\"\(name)\" is \(value), outside 0…\(PoolEvent.validRange.upperBound)")
            }
        }
        func checkSize(_ name: StaticString, _ value: Int?) throws {
            if let value, !PoolEvent.validWorkerRange.contains(value) {
                throw EventLogError(line: 0, message: "\"\(name)\" is \(value), outside 0…\(PoolEvent.validWorkerRange.upperBound)")
            }
        }
        try checkCount("job", job); try checkCount("chunk", chunk); try checkCount("chunks", chunks); try checkCount("start", start)
        try checkCount("count", self.count); try checkCount("index", index); try checkCount("items", items)
        try checkCount("chunksize", chunksize); try checkCount("attempt", attempt); try checkCount("queued_chunks", queued_chunks)
        try checkCount("queued_items", queued_items); try checkCount("pool", pool); try checkCount("finished", finished)
        try checkCount("failed", failed); try checkCount("delivered", delivered); try checkCount("chunks_done", chunks_done)
        try checkCount("item_job", item_job); try checkCount("item_index", item_index)
        try checkSize("slot", slot); try checkSize("from", from); try checkSize("to", to); try checkSize("workers", workers)
        if let start, let count, start > PoolEvent.validRange.upperBound - count {
            throw EventLogError(line: 0, message: "items \(start)+\(count) run past \(PoolEvent.validRange.upperBound)")
        }
        if let chunk, let chunks, chunk > PoolEvent.validRange.upperBound - chunks {
            throw EventLogError(line: 0, message: "chunks \(chunk)+\(chunks) run past \(PoolEvent.validRange.upperBound)")
        }
        if let chunksize, chunksize < 1, event == "jobSubmitted" || event == "chunksRecut" {
            throw EventLogError(line: 0, message: "\"chunksize\" must be at least 1 (got \(chunksize))")
        }
        if let pid, pid < 0 { throw EventLogError(line: 0, message: "\"pid\" is \(pid): PIDs are not negative") }
        if let dead_pid, dead_pid < 0 { throw EventLogError(line: 0, message: "\"dead_pid\" is \(dead_pid): PIDs are not negative") }
        if let peak_rss_kb, !(0...(1 << 40)).contains(peak_rss_kb) {
            throw EventLogError(line: 0, message: "\"peak_rss_kb\" is \(peak_rss_kb), not a size in KiB")
        }
        if let requeued {
            for chunk in requeued.prefix(WorkerExitDetails.maxRequeued) {
                for value in [chunk.job, chunk.chunk, chunk.start, chunk.count] where !PoolEvent.validRange.contains(value) {
                    throw EventLogError(line: 0, message: "a requeued chunk has \(value), outside 0…\(PoolEvent.validRange.upperBound)")
                }
                if chunk.start > PoolEvent.validRange.upperBound - chunk.count {
                    throw EventLogError(line: 0, message: "requeued items \(chunk.start)+\(chunk.count) run past \(PoolEvent.validRange.upperBound)")
                }
            }
        }
        if let host, !PoolEvent.isValidHost(host) {
            throw EventLogError(line: 0, message: "\"host\" must be 1…\(PoolEvent.maxHostLength) bytes without spaces or control characters")
        }
        if let signal, !(1...127).contains(signal) {
            throw EventLogError(line: 0, message: "\"signal\" is \(signal), not a signal number")
        }
    }

    /// A line with only the fields every event has (``JSONLineScanner`` fills in the rest).
    init(v: Int, t: Double, event: String) {
        self.v = v
        self.t = t
        self.event = event
    }

    func need<T>(_ value: T?, _ name: String) throws -> T {
        guard let value else { throw EventLogError(line: 0, message: "missing \"\(name)\"") }
        return value
    }

    func queue() throws -> QueueDepth {
        QueueDepth(chunks: try need(queued_chunks, "queued_chunks"), items: try need(queued_items, "queued_items"))
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

/// Builds one JSON object with fields in a fixed order, as UTF-8 bytes, without `JSONEncoder`'s
/// per-line cost (and without a `String` per field).
struct JSONLineWriter {
    private var bytes: [UInt8]
    private var first = true

    /// Starts an object at the end of `existing`.
    init(appendingTo existing: [UInt8] = []) {
        bytes = existing
        bytes.append(UInt8(ascii: "{"))
    }

    private mutating func key(_ key: StaticString) {
        if first { first = false } else { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func field(_ name: StaticString, _ value: some BinaryInteger) {
        key(name)
        appendDecimal(value)
    }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
    }

    mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        Self.appendQuoted(value, to: &bytes)
    }

    /// Nanoseconds as seconds with nine decimals (`12.000345678`), exact.
    mutating func time(_ name: StaticString, _ nanoseconds: UInt64) {
        key(name)
        appendDecimal(nanoseconds / 1_000_000_000)
        bytes.append(UInt8(ascii: "."))
        var fraction = nanoseconds % 1_000_000_000
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { raw in
            for position in stride(from: 8, through: 0, by: -1) {
                raw[position] = UInt8(ascii: "0") + UInt8(fraction % 10)
                fraction /= 10
            }
            bytes.append(contentsOf: raw)
        }
    }

    /// A worker's death report: the schema 3 fields of `workerExited`.
    mutating func details(_ details: WorkerExitDetails) {
        field("lifetime_ns", details.lifetime)
        if let rss = details.peakRSSKilobytes { field("peak_rss_kb", rss) }
        if details.oomKilled { field("oom_kill", true) }
        if let job = details.job, let index = details.index {
            field("item_job", job)
            field("item_index", index)
        }
        if !details.lastOutput.isEmpty {
            key("output")
            bytes.append(UInt8(ascii: "["))
            for (position, line) in details.lastOutput.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                Self.appendQuoted(line, to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        }
        if !details.requeued.isEmpty {
            key("requeued")
            bytes.append(UInt8(ascii: "["))
            for (position, chunk) in details.requeued.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                var object = JSONLineWriter()
                object.field("job", chunk.job); object.field("chunk", chunk.chunk)
                object.field("start", chunk.start); object.field("count", chunk.count)
                bytes.append(contentsOf: object.finish())
            }
            bytes.append(UInt8(ascii: "]"))
        }
    }

    mutating func queue(_ depth: QueueDepth) {
        field("queued_chunks", depth.chunks)
        field("queued_items", depth.items)
    }

    /// The object closed, after whatever the writer started from.
    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func appendDecimal(_ value: some BinaryInteger) {
        if let small = Int64(exactly: value) {
            if small < 0 {
                bytes.append(UInt8(ascii: "-"))
                appendUnsigned(small.magnitude)
            } else {
                appendUnsigned(UInt64(small))
            }
        } else if let large = UInt64(exactly: value) {
            appendUnsigned(large)
        } else {
            bytes.append(contentsOf: Array("\(value)".utf8))
        }
    }

    private mutating func appendUnsigned(_ value: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var rest = value
        withUnsafeMutableBytes(of: &digits) { raw in
            var position = raw.count
            repeat {
                position -= 1
                raw[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: UnsafeMutableRawBufferPointer(rebasing: raw[position...]))
        }
    }

    /// The object closed, as text.
    mutating func finishedText() -> String { String(decoding: finish(), as: UTF8.self) }

    static func quote(_ value: String) -> String {
        var out: [UInt8] = []
        appendQuoted(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendQuoted(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var copy = value
        copy.withUTF8 { utf8 in
            var plainStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plainStart..<index]))
                plainStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                            hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plainStart..<utf8.count]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
