import Glibc

/// A fast reader for the event lines ``PoolEvent/jsonLine`` writes: one flat JSON object whose
/// values are integers, numbers, strings, booleans or null.
///
/// `JSONDecoder` costs ~20 µs per line here, more than everything else a watcher does with an
/// event; this scanner reads the same lines in a few hundred nanoseconds. It handles only the
/// plain shape: on anything else (nesting, a value of the wrong type for its key, a number out of
/// range, a malformed line) it gives up and the caller falls back to `JSONDecoder`, whose answer
/// (a value or the error message) is then exactly what it always was.
struct JSONLineScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var at = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// `body` applied to the fields of `text`, or nil (`body` not called) when `JSONDecoder`
    /// must decide. The fields are lent rather than returned: a `JSONLine` is large, and
    /// returning it through `withUTF8` copied it.
    static func scan<Result>(_ text: String, _ body: (borrowing JSONLine) throws -> Result) rethrows -> Result? {
        var copy = text
        return try copy.withUTF8 { bytes -> Result? in
            var scanner = JSONLineScanner(bytes)
            guard let line = scanner.line() else { return nil }
            return try body(line)
        }
    }

    private enum Value {
        case integer(Range<Int>)
        case fraction(Range<Int>)
        case string(String)
        case bool(Bool)
        case null
    }

    /// The keys an event line may have. A key is looked up by its bytes (``Key/lookup(_:)``),
    /// never turned into a `String`: matched against ~45 names with `==`, keys were most of a
    /// line's cost (5 µs a line, where the monitor socket carries thousands a second).
    private enum Key {
        case v, t, event, slot, job, chunk, chunks, start, count, index, items, chunksize, attempt, from, to
        case queuedChunks, queuedItems, pool, workers, finished, failed, delivered, chunksDone
        case pid, deadPID, exit, signal, ns, auto, reason, label, function, mode, error, state, line, message, host
        /// Schema 3's death report (rare: one per worker exit) takes JSONDecoder's path.
        case deathReport

        private static let names: [(StaticString, Key)] = [
            ("v", .v), ("t", .t), ("event", .event), ("slot", .slot), ("job", .job), ("chunk", .chunk),
            ("chunks", .chunks), ("start", .start), ("count", .count), ("index", .index), ("items", .items),
            ("chunksize", .chunksize), ("attempt", .attempt), ("from", .from), ("to", .to),
            ("queued_chunks", .queuedChunks), ("queued_items", .queuedItems), ("pool", .pool), ("workers", .workers),
            ("finished", .finished), ("failed", .failed), ("delivered", .delivered), ("chunks_done", .chunksDone),
            ("pid", .pid), ("dead_pid", .deadPID), ("exit", .exit), ("signal", .signal), ("ns", .ns), ("auto", .auto),
            ("reason", .reason), ("label", .label), ("function", .function), ("mode", .mode), ("error", .error),
            ("state", .state), ("line", .line), ("message", .message), ("host", .host),
            ("lifetime_ns", .deathReport), ("peak_rss_kb", .deathReport), ("oom_kill", .deathReport),
            ("item_job", .deathReport), ("item_index", .deathReport), ("output", .deathReport), ("requeued", .deathReport),
        ]

        /// The known names by ``slot(_:)`` of their ``tag(_:)``: a perfect hash found once, so
        /// that a look-up is a multiply, a load and a compare (a `Dictionary` hashed each key
        /// with SipHash, a quarter of a line's cost).
        private static let table: (multiplier: UInt64, slots: [(tag: UInt64, name: StaticString, key: Key)?]) = {
            let tags = names.map { tag(UnsafeBufferPointer(start: $0.0.utf8Start, count: $0.0.utf8CodeUnitCount)) }
            // Odd multipliers from a fixed sequence until one spreads the tags over the slots
            // without a collision (with 45 names in 512 slots, about one in seven does).
            var generator: UInt64 = 0x9E37_79B9_7F4A_7C15
            while true {
                generator &+= 0x9E37_79B9_7F4A_7C15
                let multiplier = (generator ^ (generator >> 29)) &* 0xBF58_476D_1CE4_E5B9 | 1
                var slots = [(tag: UInt64, name: StaticString, key: Key)?](repeating: nil, count: 1 << slotBits)
                var collided = false
                for (index, (name, key)) in names.enumerated() {
                    let slot = Int(truncatingIfNeeded: (tags[index] &* multiplier) >> UInt64(64 - slotBits))
                    if slots[slot] != nil {
                        collided = true
                        break
                    }
                    slots[slot] = (tags[index], name, key)
                }
                if !collided { return (multiplier, slots) }
            }
        }()
        private static let slotBits = 9

        /// Whether every name has a slot of its own and a tag no other name has.
        static var tagsAreDistinct: Bool {
            table.slots.compactMap { $0 }.count == names.count && Set(table.slots.compactMap { $0?.tag }).count == names.count
        }

        /// The length in the top byte, the first seven bytes below it.
        @inline(__always)
        private static func tag(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
            var value = UInt64(truncatingIfNeeded: bytes.count) << 56
            for offset in 0..<min(7, bytes.count) { value |= UInt64(bytes[offset]) << UInt64(8 * offset) }
            return value
        }

        /// The key spelled by `bytes`, or nil for a key events do not have (ignored, as
        /// JSONDecoder ignores it).
        static func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> Key? {
            let tag = tag(bytes)
            let table = table
            let slot = Int(truncatingIfNeeded: (tag &* table.multiplier) >> UInt64(64 - slotBits))
            guard let entry = table.slots[slot], entry.tag == tag, entry.name.utf8CodeUnitCount == bytes.count,
                  memcmp(entry.name.utf8Start, bytes.baseAddress!, bytes.count) == 0
            else { return nil }
            return entry.key
        }
    }

    /// Whether no two known keys look alike to the lookup (for a test).
    static var keyTagsAreDistinct: Bool { Key.tagsAreDistinct }

    private mutating func line() -> JSONLine? {
        skipSpace()
        guard take(UInt8(ascii: "{")) else { return nil }
        var v: Int?
        var t: Double?
        var event: String?
        var line = JSONLine(v: 0, t: 0, event: "")
        skipSpace()
        if take(UInt8(ascii: "}")) { return nil }
        while true {
            guard let keyBytes = fieldKey(), let value = value() else { return nil }
            let key = Key.lookup(UnsafeBufferPointer(rebasing: bytes[keyBytes]))
            if case .null = value {
                // Null is "absent" for the optional fields; the required ones need JSONDecoder's word.
                if key == .v || key == .t || key == .event { return nil }
            } else if let key {
                switch key {
                case .v: guard let x = int(value) else { return nil }; v = x
                case .t: guard let x = seconds(value) else { return nil }; t = x
                case .event: guard case .string(let s) = value else { return nil }; event = s
                case .slot: guard let x = int(value) else { return nil }; line.slot = x
                case .job: guard let x = int(value) else { return nil }; line.job = x
                case .chunk: guard let x = int(value) else { return nil }; line.chunk = x
                case .chunks: guard let x = int(value) else { return nil }; line.chunks = x
                case .start: guard let x = int(value) else { return nil }; line.start = x
                case .count: guard let x = int(value) else { return nil }; line.count = x
                case .index: guard let x = int(value) else { return nil }; line.index = x
                case .items: guard let x = int(value) else { return nil }; line.items = x
                case .chunksize: guard let x = int(value) else { return nil }; line.chunksize = x
                case .attempt: guard let x = int(value) else { return nil }; line.attempt = x
                case .from: guard let x = int(value) else { return nil }; line.from = x
                case .to: guard let x = int(value) else { return nil }; line.to = x
                case .queuedChunks: guard let x = int(value) else { return nil }; line.queued_chunks = x
                case .queuedItems: guard let x = int(value) else { return nil }; line.queued_items = x
                case .pool: guard let x = int(value) else { return nil }; line.pool = x
                case .workers: guard let x = int(value) else { return nil }; line.workers = x
                case .finished: guard let x = int(value) else { return nil }; line.finished = x
                case .failed: guard let x = int(value) else { return nil }; line.failed = x
                case .delivered: guard let x = int(value) else { return nil }; line.delivered = x
                case .chunksDone: guard let x = int(value) else { return nil }; line.chunks_done = x
                case .pid: guard let x = int32(value) else { return nil }; line.pid = x
                case .deadPID: guard let x = int32(value) else { return nil }; line.dead_pid = x
                case .exit: guard let x = int32(value) else { return nil }; line.exit = x
                case .signal: guard let x = int32(value) else { return nil }; line.signal = x
                case .ns:
                    guard case .integer(let r) = value, let x = unsigned(r) else { return nil }
                    line.ns = x
                case .auto: guard case .bool(let b) = value else { return nil }; line.auto = b
                case .reason: guard case .string(let s) = value else { return nil }; line.reason = s
                case .label: guard case .string(let s) = value else { return nil }; line.label = s
                case .function: guard case .string(let s) = value else { return nil }; line.function = s
                case .mode: guard case .string(let s) = value else { return nil }; line.mode = s
                case .error: guard case .string(let s) = value else { return nil }; line.error = s
                case .state: guard case .string(let s) = value else { return nil }; line.state = s
                case .line: guard case .string(let s) = value else { return nil }; line.line = s
                case .message: guard case .string(let s) = value else { return nil }; line.message = s
                case .host: guard case .string(let s) = value else { return nil }; line.host = s
                case .deathReport: return nil
                }
            }
            skipSpace()
            if take(UInt8(ascii: ",")) { continue }
            guard take(UInt8(ascii: "}")) else { return nil }
            break
        }
        skipSpace()
        guard at == bytes.count, let v, let t, let event else { return nil }
        line.v = v
        line.t = t
        line.event = event
        return line
    }

    // MARK: the busiest events

    /// The events a busy pool sends most (runs and chunks of items), read straight into a
    /// `PoolEvent`, or nil to let the general reader decide. Only a line that reader would take
    /// is taken here (integer fields in range, the fields the event needs, nothing else), so
    /// every refusal, and its message, still comes from one place.
    static func hotEvent(_ text: String) -> PoolEvent? {
        var copy = text
        return copy.withUTF8 { hotEvent($0) }
    }

    /// ``hotEvent(_:)`` of a line's UTF-8 bytes.
    static func hotEvent(_ bytes: UnsafeBufferPointer<UInt8>) -> PoolEvent? {
        guard bytes.baseAddress != nil else { return nil }
        var scanner = JSONLineScanner(bytes)
        return scanner.hotEvent()
    }

    private enum HotKind {
        case itemsFinished, chunksDispatched, itemFinished, resultsDelivered, itemStarted, chunkDispatched

        static func named(_ name: UnsafeBufferPointer<UInt8>) -> HotKind? {
            func equals(_ known: StaticString) -> Bool {
                known.utf8CodeUnitCount == name.count && memcmp(known.utf8Start, name.baseAddress!, name.count) == 0
            }
            switch name.count {
            case 13: return equals("itemsFinished") ? .itemsFinished : nil
            case 16: return equals("chunksDispatched") ? .chunksDispatched : equals("resultsDelivered") ? .resultsDelivered : nil
            case 12: return equals("itemFinished") ? .itemFinished : nil
            case 11: return equals("itemStarted") ? .itemStarted : nil
            case 15: return equals("chunkDispatched") ? .chunkDispatched : nil
            default: return nil
            }
        }
    }

    private mutating func hotEvent() -> PoolEvent? {
        skipSpace()
        guard take(UInt8(ascii: "{")) else { return nil }
        var v: Int?, t: Double?, kind: HotKind?
        var job: Int?, chunk: Int?, chunks: Int?, start: Int?, count: Int?, index: Int?
        var queuedChunks: Int?, queuedItems: Int?, pid: Int32?, ns: UInt64?
        while true {
            guard let keyBytes = fieldKey(), let key = Key.lookup(UnsafeBufferPointer(rebasing: bytes[keyBytes])) else {
                return nil
            }
            if key == .event {
                guard let name = plainKey(), let named = HotKind.named(UnsafeBufferPointer(rebasing: bytes[name])) else { return nil }
                kind = named
            } else {
                guard let value = value() else { return nil }
                // A count as the general reader checks it (`JSONLine.validate()`).
                func counted() -> Int? { int(value).flatMap { PoolEvent.validRange.contains($0) ? $0 : nil } }
                switch key {
                case .v: guard let x = int(value) else { return nil }; v = x
                case .t: guard let x = seconds(value) else { return nil }; t = x
                case .job: guard let x = counted() else { return nil }; job = x
                case .chunk: guard let x = counted() else { return nil }; chunk = x
                case .chunks: guard let x = counted() else { return nil }; chunks = x
                case .start: guard let x = counted() else { return nil }; start = x
                case .count: guard let x = counted() else { return nil }; count = x
                case .index: guard let x = counted() else { return nil }; index = x
                case .queuedChunks: guard let x = counted() else { return nil }; queuedChunks = x
                case .queuedItems: guard let x = counted() else { return nil }; queuedItems = x
                case .pid: guard let x = int32(value), x >= 0 else { return nil }; pid = x
                case .ns: guard case .integer(let r) = value, let x = unsigned(r) else { return nil }; ns = x
                // An item that failed carries its error: the general reader's business.
                case .error: guard case .null = value else { return nil }
                default: return nil
                }
            }
            skipSpace()
            if take(UInt8(ascii: ",")) { continue }
            guard take(UInt8(ascii: "}")) else { return nil }
            break
        }
        skipSpace()
        guard at == bytes.count, let v, PoolEvent.readableSchemaVersions.contains(v), let t, t.isFinite, t >= 0,
              t <= PoolEvent.latestTime, let kind, let job
        else { return nil }
        if let start, let count, start > PoolEvent.validRange.upperBound - count { return nil }
        if let chunk, let chunks, chunk > PoolEvent.validRange.upperBound - chunks { return nil }
        let eventKind: PoolEvent.Kind
        switch kind {
        case .itemsFinished:
            guard let start, let count, let pid, let ns else { return nil }
            eventKind = .itemsFinished(job: job, start: start, count: count, pid: pid, nanoseconds: ns)
        case .chunksDispatched:
            guard let chunk, let chunks, let start, let count, let pid, let queuedChunks, let queuedItems,
                  chunks >= 1, count >= chunks
            else { return nil }
            eventKind = .chunksDispatched(job: job, firstChunk: chunk, chunks: chunks, start: start, count: count, pid: pid,
                                          queue: QueueDepth(chunks: queuedChunks, items: queuedItems))
        case .itemFinished:
            guard let index, let pid, let ns else { return nil }
            eventKind = .itemFinished(job: job, index: index, pid: pid, error: nil, nanoseconds: ns)
        case .resultsDelivered:
            guard let start, let count else { return nil }
            eventKind = .resultsDelivered(job: job, start: start, count: count)
        case .itemStarted:
            guard let index, let pid else { return nil }
            eventKind = .itemStarted(job: job, index: index, pid: pid)
        case .chunkDispatched:
            guard let chunk, let start, let count, let pid, let queuedChunks, let queuedItems else { return nil }
            eventKind = .chunkDispatched(job: job, chunk: chunk, start: start, count: count, pid: pid,
                                         queue: QueueDepth(chunks: queuedChunks, items: queuedItems))
        }
        return PoolEvent(time: UInt64((t * 1e9).rounded()), kind: eventKind)
    }

    // MARK: values

    private mutating func value() -> Value? {
        guard at < bytes.count else { return nil }
        switch bytes[at] {
        case UInt8(ascii: "\""): return string().map { .string($0) }
        case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return literal("null") ? .null : nil
        default: return number()
        }
    }

    private mutating func number() -> Value? {
        let start = at
        if at < bytes.count && bytes[at] == UInt8(ascii: "-") { at += 1 }
        let digits = at
        while at < bytes.count && isDigit(bytes[at]) { at += 1 }
        guard at > digits else { return nil }
        // JSON forbids leading zeros ("01"); let JSONDecoder say so.
        if bytes[digits] == UInt8(ascii: "0") && at - digits > 1 { return nil }
        var integral = true
        if at < bytes.count && bytes[at] == UInt8(ascii: ".") {
            integral = false
            at += 1
            let fraction = at
            while at < bytes.count && isDigit(bytes[at]) { at += 1 }
            guard at > fraction else { return nil }
        }
        if at < bytes.count && (bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E")) { return nil }
        return integral ? .integer(start..<at) : .fraction(start..<at)
    }

    private func int(_ value: Value) -> Int? {
        guard case .integer(let range) = value else { return nil }
        var negative = false
        var index = range.lowerBound
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var result = 0
        while index < range.upperBound {
            let digit = Int(bytes[index] &- UInt8(ascii: "0"))
            let (times, o1) = result.multipliedReportingOverflow(by: 10)
            let (sum, o2) = negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            guard !o1, !o2 else { return nil }
            result = sum
            index += 1
        }
        return result
    }

    private func int32(_ value: Value) -> Int32? { int(value).flatMap { Int32(exactly: $0) } }

    private func unsigned(_ range: Range<Int>) -> UInt64? {
        guard bytes[range.lowerBound] != UInt8(ascii: "-") else { return nil }
        var result: UInt64 = 0
        for index in range {
            let (times, o1) = result.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(bytes[index] &- UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            result = sum
        }
        return result
    }

    /// A time in seconds: a number, integral or not.
    private func seconds(_ value: Value) -> Double? {
        switch value {
        case .integer(let r), .fraction(let r): double(r)
        default: nil
        }
    }

    /// A number as a `Double`: decimals such as the writer's times (`12.000345678`) exactly, by
    /// one division of two exactly represented numbers, which rounds correctly as `strtod` does
    /// (Clinger's fast path); anything longer through `Double(String)`.
    private func double(_ range: Range<Int>) -> Double? {
        var mantissa: UInt64 = 0
        var digits = 0
        var decimals = 0
        var afterPoint = false
        var index = range.lowerBound
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        while index < range.upperBound {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: ".") {
                afterPoint = true
                continue
            }
            mantissa = mantissa &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
            digits += 1
            if afterPoint { decimals += 1 }
        }
        // 15 digits stay below 2^53, and 10^22 is the largest power of ten a Double holds exactly.
        guard digits > 15 || decimals > 22 else {
            let value = Double(mantissa) / Self.powersOfTen[decimals]
            return negative ? -value : value
        }
        return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self))
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }

    /// The next field's key (its bytes), up to and past the colon and the spaces after it.
    private mutating func fieldKey() -> Range<Int>? {
        skipSpace()
        guard let key = plainKey() else { return nil }
        skipSpace()
        guard take(UInt8(ascii: ":")) else { return nil }
        skipSpace()
        return key
    }

    /// A key's bytes (a string with no escapes), else nil.
    private mutating func plainKey() -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = at
        while at < bytes.count {
            let byte = bytes[at]
            if byte == UInt8(ascii: "\"") {
                at += 1
                return start..<(at - 1)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            at += 1
        }
        return nil
    }

    /// A string value; escapes other than the plain ones, control bytes or invalid UTF-8 give up.
    private mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        var start = at
        var pieces: [UInt8] = []
        var escaped = false
        while at < bytes.count {
            let byte = bytes[at]
            if byte == UInt8(ascii: "\"") {
                let text: String?
                if escaped {
                    pieces.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<at]))
                    text = String(validating: pieces, as: UTF8.self)
                } else {
                    text = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
                }
                at += 1
                return text
            }
            if byte < 0x20 { return nil }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                pieces.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<at]))
                at += 1
                guard at < bytes.count else { return nil }
                switch bytes[at] {
                case UInt8(ascii: "\""): pieces.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): pieces.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "/"): pieces.append(UInt8(ascii: "/"))
                case UInt8(ascii: "n"): pieces.append(0x0A)
                case UInt8(ascii: "r"): pieces.append(0x0D)
                case UInt8(ascii: "t"): pieces.append(0x09)
                case UInt8(ascii: "b"): pieces.append(0x08)
                case UInt8(ascii: "f"): pieces.append(0x0C)
                case UInt8(ascii: "u"):
                    // Only code points below the surrogates (what our writer emits for control
                    // characters); surrogate pairs go to JSONDecoder.
                    guard at + 4 < bytes.count else { return nil }
                    var code: UInt32 = 0
                    for offset in 1...4 {
                        guard let digit = hexValue(bytes[at + offset]) else { return nil }
                        code = code << 4 | digit
                    }
                    guard code < 0xD800, let scalar = Unicode.Scalar(code) else { return nil }
                    pieces.append(contentsOf: Array(String(Character(scalar)).utf8))
                    at += 4
                default: return nil
                }
                at += 1
                start = at
                continue
            }
            at += 1
        }
        return nil
    }

    // MARK: bytes

    private mutating func take(_ byte: UInt8) -> Bool {
        guard at < bytes.count, bytes[at] == byte else { return false }
        at += 1
        return true
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard at + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[at + offset] != word.utf8Start[offset] { return false }
        at += count
        return true
    }

    private mutating func skipSpace() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x09 || bytes[at] == 0x0A || bytes[at] == 0x0D { at += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
