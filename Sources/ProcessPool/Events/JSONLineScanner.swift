/// A fast reader for the event lines ``PoolEvent/jsonLine`` writes: one flat JSON object whose
/// values are integers, numbers, strings, booleans or null.
///
/// `JSONDecoder` costs ~20 µs per line here, more than everything else a watcher does with an
/// event; this scanner reads the same lines in well under a microsecond. It handles only the
/// plain shape: on anything else (nesting, a value of the wrong type for its key, a number out of
/// range, a malformed line) it gives up and the caller falls back to `JSONDecoder`, whose answer
/// (a value or the error message) is then exactly what it always was.
struct JSONLineScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var at = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The fields of `text`, or nil when `JSONDecoder` must decide.
    static func scan(_ text: String) -> JSONLine? {
        var copy = text
        return copy.withUTF8 { bytes in
            var scanner = JSONLineScanner(bytes)
            return scanner.line()
        }
    }

    private enum Value {
        case integer(Range<Int>)
        case fraction(Range<Int>)
        case string(String)
        case bool(Bool)
        case null
    }

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
            skipSpace()
            guard let key = plainString() else { return nil }
            skipSpace()
            guard take(UInt8(ascii: ":")) else { return nil }
            skipSpace()
            guard let value = value() else { return nil }
            if case .null = value {
                // Null is "absent" for the optional fields; the required ones need JSONDecoder's word.
                if key == "v" || key == "t" || key == "event" { return nil }
            } else {
                switch key {
                case "v": guard let x = int(value) else { return nil }; v = x
                case "t":
                    switch value {
                    case .integer(let r), .fraction(let r): guard let x = double(r) else { return nil }; t = x
                    default: return nil
                    }
                case "event": guard case .string(let s) = value else { return nil }; event = s
                case "slot": guard let x = int(value) else { return nil }; line.slot = x
                case "job": guard let x = int(value) else { return nil }; line.job = x
                case "chunk": guard let x = int(value) else { return nil }; line.chunk = x
                case "chunks": guard let x = int(value) else { return nil }; line.chunks = x
                case "start": guard let x = int(value) else { return nil }; line.start = x
                case "count": guard let x = int(value) else { return nil }; line.count = x
                case "index": guard let x = int(value) else { return nil }; line.index = x
                case "items": guard let x = int(value) else { return nil }; line.items = x
                case "chunksize": guard let x = int(value) else { return nil }; line.chunksize = x
                case "attempt": guard let x = int(value) else { return nil }; line.attempt = x
                case "from": guard let x = int(value) else { return nil }; line.from = x
                case "to": guard let x = int(value) else { return nil }; line.to = x
                case "queued_chunks": guard let x = int(value) else { return nil }; line.queued_chunks = x
                case "queued_items": guard let x = int(value) else { return nil }; line.queued_items = x
                case "pool": guard let x = int(value) else { return nil }; line.pool = x
                case "workers": guard let x = int(value) else { return nil }; line.workers = x
                case "finished": guard let x = int(value) else { return nil }; line.finished = x
                case "failed": guard let x = int(value) else { return nil }; line.failed = x
                case "delivered": guard let x = int(value) else { return nil }; line.delivered = x
                case "chunks_done": guard let x = int(value) else { return nil }; line.chunks_done = x
                case "pid": guard let x = int32(value) else { return nil }; line.pid = x
                case "dead_pid": guard let x = int32(value) else { return nil }; line.dead_pid = x
                case "exit": guard let x = int32(value) else { return nil }; line.exit = x
                case "signal": guard let x = int32(value) else { return nil }; line.signal = x
                case "ns":
                    guard case .integer(let r) = value, let x = unsigned(r) else { return nil }
                    line.ns = x
                case "auto": guard case .bool(let b) = value else { return nil }; line.auto = b
                case "reason": guard case .string(let s) = value else { return nil }; line.reason = s
                case "label": guard case .string(let s) = value else { return nil }; line.label = s
                case "function": guard case .string(let s) = value else { return nil }; line.function = s
                case "mode": guard case .string(let s) = value else { return nil }; line.mode = s
                case "error": guard case .string(let s) = value else { return nil }; line.error = s
                case "state": guard case .string(let s) = value else { return nil }; line.state = s
                case "line": guard case .string(let s) = value else { return nil }; line.line = s
                case "message": guard case .string(let s) = value else { return nil }; line.message = s
                // A death report (schema 3, rare: one per worker exit) takes JSONDecoder's path.
                case "lifetime_ns", "peak_rss_kb", "oom_kill", "item_job", "item_index", "output", "requeued": return nil
                case "host": guard case .string(let s) = value else { return nil }; line.host = s
                default: break  // unknown keys are ignored, as JSONDecoder ignores them
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

    private func double(_ range: Range<Int>) -> Double? {
        Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self))
    }

    /// A string with no escapes (keys), else nil.
    private mutating func plainString() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = at
        while at < bytes.count {
            let byte = bytes[at]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
                at += 1
                return text
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
