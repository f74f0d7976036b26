/// Turns the bytes of a JSON Lines event log into events as they arrive.
///
/// A log that another process is still writing (`poolmon replay --follow`) can end in the middle
/// of a line: that line is held back until its newline comes, and lines are numbered from the
/// start of the log, so that an error names the line a user finds in the file.
public struct EventLogDecoder: Sendable {
    /// Longer lines are refused: the log is untrusted input, and a file without newlines must not
    /// make the held-back line grow without end. Real lines are a few hundred bytes (a worker's
    /// output line being the longest).
    public static let maximumLineLength = 16 << 20

    /// Lines seen so far, blank ones included: the number of the last complete line.
    public private(set) var lineCount = 0
    /// The start of a line whose newline has not arrived yet.
    private var partialLine: [UInt8] = []

    public init() {}

    /// Whether bytes of an unfinished last line are held back.
    public var hasPartialLine: Bool { !partialLine.isEmpty }

    /// Decodes every line that `bytes` completes, holding back what follows the last newline.
    /// - Throws: ``EventLogError`` naming the first bad line.
    public mutating func decode(_ bytes: some Collection<UInt8>) throws(EventLogError) -> [PoolEvent] {
        var events: [PoolEvent] = []
        var lineStart = bytes.startIndex
        while let newline = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
            lineCount += 1
            if partialLine.isEmpty {
                try Self.decodeLine(bytes[lineStart..<newline], number: lineCount, into: &events)
            } else {
                partialLine.append(contentsOf: bytes[lineStart..<newline])
                let line = partialLine
                partialLine = []
                try Self.decodeLine(line, number: lineCount, into: &events)
            }
            lineStart = bytes.index(after: newline)
        }
        partialLine.append(contentsOf: bytes[lineStart...])
        guard partialLine.count <= Self.maximumLineLength else {
            throw EventLogError(line: lineCount + 1, message: "longer than \(Self.maximumLineLength >> 20) MiB without a newline")
        }
        return events
    }

    /// Decodes the held-back last line as a complete one: the end of a file that is not being
    /// written any more, whose last line lacks its newline.
    /// - Throws: ``EventLogError``, saying that the line looks truncated.
    public mutating func finish() throws(EventLogError) -> [PoolEvent] {
        guard !partialLine.isEmpty else { return [] }
        lineCount += 1
        let line = partialLine
        partialLine = []
        var events: [PoolEvent] = []
        do {
            try Self.decodeLine(line, number: lineCount, into: &events)
        } catch {
            var error = error
            error.message += " (the last line looks truncated)"
            throw error
        }
        return events
    }

    /// Forgets everything: the log starts again from its first line (a file truncated and
    /// rewritten, as `poolmon run --events` does to an existing file).
    public mutating func reset() {
        lineCount = 0
        partialLine = []
    }

    private static func decodeLine(_ line: some Collection<UInt8>, number: Int, into events: inout [PoolEvent]) throws(EventLogError) {
        if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { return }
        do {
            // From the bytes (the busiest events make no String); a line not in one buffer is
            // copied into one first.
            let read = { (bytes: UnsafeBufferPointer<UInt8>) in try PoolEvent(jsonLineUTF8: bytes) }
            events.append(try line.withContiguousStorageIfAvailable(read) ?? Array(line).withUnsafeBufferPointer(read))
        } catch var error as EventLogError {
            error.line = number
            throw error
        } catch {
            throw EventLogError(line: number, message: "\(error)")
        }
    }
}
