import Glibc

/// Builds one JSON object with fields in a fixed order, as UTF-8 bytes at the end of an array,
/// without `JSONEncoder`'s per-line cost and without a `String` per field.
///
/// Fields are composed in a buffer on the stack and reach the array together, when the buffer
/// is full, before a string, and at the end: a line of numbers only (the busiest events: runs of
/// items, dispatches) costs one append. Appending a byte or a piece at a time checks the
/// array's capacity and uniqueness each time, and that was most of what the monitor link spent
/// per event.
///
/// ```swift
/// JSONLineWriter.append(to: &bytes) { line in
///     line.field("job", 3); line.field("label", "sum")
/// }
/// ```
struct JSONLineWriter {
    /// The stack buffer's size. Every field but a string's value fits in it whole: a key (ours,
    /// never longer than ``longestKey``), its punctuation and a number of at most 30 characters.
    static let stagingCapacity = 256
    /// Keys are this writer's callers' own literals; a longer one is written straight to the array.
    static let longestKey = 64
    /// The most a number takes: a time is 20 digits, a point and 9 more; an integer 20 and a sign.
    private static let longestNumber = 31

    private var output: [UInt8]
    private let staging: UnsafeMutablePointer<UInt8>
    private var staged = 0
    private var first = true

    private init(output: [UInt8], staging: UnsafeMutablePointer<UInt8>) {
        self.output = output
        self.staging = staging
    }

    /// Writes one object, with the fields `body` writes, at the end of `bytes`.
    static func append(to bytes: inout [UInt8], _ body: (inout JSONLineWriter) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: stagingCapacity) { buffer in
            var writer = JSONLineWriter(output: bytes, staging: buffer.baseAddress!)
            bytes = []  // the writer holds the only reference while it writes: appends stay in place
            writer.object(body)
            writer.flush()
            bytes = writer.output
        }
    }

    /// One object, with the fields `body` writes, as text.
    static func text(_ body: (inout JSONLineWriter) -> Void) -> String {
        var bytes: [UInt8] = []
        append(to: &bytes, body)
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func field(_ name: StaticString, _ value: some BinaryInteger) {
        if let small = Int64(exactly: value) {
            key(name, room: Self.longestNumber)
            if small < 0 {
                byte(UInt8(ascii: "-"))
                decimal(small.magnitude)
            } else {
                decimal(UInt64(small))
            }
        } else if let large = UInt64(exactly: value) {
            key(name, room: Self.longestNumber)
            decimal(large)
        } else {
            field(name, raw: "\(value)")
        }
    }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name, room: 5)
        raw(value ? "true" : "false")
    }

    /// A string, quoted and escaped.
    mutating func field(_ name: StaticString, _ value: String) {
        key(name, room: 0)
        flush()
        Self.appendQuoted(value, to: &output)
    }

    /// A string known to need no escaping (a name of this module's own: an event's, a mode's).
    mutating func field(_ name: StaticString, plain value: StaticString) {
        guard value.utf8CodeUnitCount <= Self.longestKey else { return field(name, value.description) }
        key(name, room: value.utf8CodeUnitCount + 2)
        byte(UInt8(ascii: "\""))
        raw(value)
        byte(UInt8(ascii: "\""))
    }

    /// Nanoseconds as seconds with nine decimals (`12.000345678`), exact.
    mutating func time(_ name: StaticString, _ nanoseconds: UInt64) {
        key(name, room: Self.longestNumber)
        decimal(nanoseconds / 1_000_000_000)
        byte(UInt8(ascii: "."))
        var fraction = nanoseconds % 1_000_000_000
        for position in stride(from: 8, through: 0, by: -1) {
            staging[staged + position] = UInt8(ascii: "0") + UInt8(fraction % 10)
            fraction /= 10
        }
        staged += 9
    }

    /// An array whose elements `body` writes with ``element(_:)`` and ``objectElement(_:)``.
    mutating func array(_ name: StaticString, _ body: (inout JSONLineWriter) -> Void) {
        key(name, room: 1)
        byte(UInt8(ascii: "["))
        let outer = first
        first = true
        body(&self)
        first = outer
        reserve(1)
        byte(UInt8(ascii: "]"))
    }

    /// A string element of an ``array(_:_:)``.
    mutating func element(_ value: String) {
        separator()
        flush()
        Self.appendQuoted(value, to: &output)
    }

    /// An object element of an ``array(_:_:)``.
    mutating func objectElement(_ body: (inout JSONLineWriter) -> Void) {
        separator()
        object(body)
    }

    // MARK: - Staging

    private mutating func object(_ body: (inout JSONLineWriter) -> Void) {
        reserve(1)
        byte(UInt8(ascii: "{"))
        let outer = first
        first = true
        body(&self)
        first = outer
        reserve(1)
        byte(UInt8(ascii: "}"))
    }

    /// Stages `,"name":` (no comma before an object's first field), with `room` more bytes free.
    private mutating func key(_ name: StaticString, room: Int) {
        guard name.utf8CodeUnitCount <= Self.longestKey else {
            separator()
            flush()
            output.append(UInt8(ascii: "\""))
            output.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            output.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
            reserve(room)
            return
        }
        reserve(name.utf8CodeUnitCount + 4 + room)
        if first { first = false } else { byte(UInt8(ascii: ",")) }
        byte(UInt8(ascii: "\""))
        raw(name)
        byte(UInt8(ascii: "\""))
        byte(UInt8(ascii: ":"))
    }

    private mutating func separator() {
        reserve(1)
        if first { first = false } else { byte(UInt8(ascii: ",")) }
    }

    /// A field whose value is written as it is (a number too large for 64 bits).
    private mutating func field(_ name: StaticString, raw text: String) {
        key(name, room: 0)
        flush()
        output.append(contentsOf: text.utf8)
    }

    /// Makes room for `count` staged bytes, sending what is staged to the array if needed.
    private mutating func reserve(_ count: Int) {
        if staged + count > Self.stagingCapacity { flush() }
    }

    private mutating func flush() {
        guard staged > 0 else { return }
        output.append(contentsOf: UnsafeBufferPointer(start: staging, count: staged))
        staged = 0
    }

    // The writes below go to room a `reserve` made: `key` reserves for its value too.

    private mutating func byte(_ value: UInt8) {
        staging[staged] = value
        staged += 1
    }

    private mutating func raw(_ text: StaticString) {
        memcpy(staging + staged, text.utf8Start, text.utf8CodeUnitCount)
        staged += text.utf8CodeUnitCount
    }

    private mutating func decimal(_ value: UInt64) {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        rest = value
        for position in stride(from: digits - 1, through: 0, by: -1) {
            staging[staged + position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
        staged += digits
    }

    // MARK: - Strings

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
