import Glibc

/// Writes the line of one of the busiest events (runs and chunks of items: integers and the
/// event's name, no strings to escape) into a buffer on the stack, appended to the output at
/// once. ``JSONLineWriter`` appends a byte or a piece at a time, each append checking the
/// array's capacity and uniqueness: that was most of what the monitor link spent per event.
/// The bytes are exactly ``JSONLineWriter``'s (a test compares them).
struct HotJSONLineWriter {
    /// Room for the longest line it writes: `chunksDispatched` with every number at 20 digits
    /// is under 400 bytes.
    static let capacity = 512

    private let base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0

    private init(_ base: UnsafeMutablePointer<UInt8>) { self.base = base }

    /// Appends `event`'s line to `bytes` if it is one of the events written here.
    /// - Returns: false, with nothing appended, for any other event.
    static func append(_ event: PoolEvent, to bytes: inout [UInt8]) -> Bool {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var line = HotJSONLineWriter(buffer.baseAddress!)
            guard line.write(event) else { return false }
            bytes.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress, count: line.count))
            return true
        }
    }

    private mutating func write(_ event: PoolEvent) -> Bool {
        switch event.kind {
        case .itemsFinished(let job, let start, let count, let pid, let nanoseconds):
            head(event, #","event":"itemsFinished""#)
            field(#","job":"#, job); field(#","start":"#, start); field(#","count":"#, count)
            field(#","pid":"#, pid); field(#","ns":"#, nanoseconds)
        case .chunksDispatched(let job, let firstChunk, let chunks, let start, let count, let pid, let queue):
            head(event, #","event":"chunksDispatched""#)
            field(#","job":"#, job); field(#","chunk":"#, firstChunk); field(#","chunks":"#, chunks)
            field(#","start":"#, start); field(#","count":"#, count); field(#","pid":"#, pid)
            field(#","queued_chunks":"#, queue.chunks); field(#","queued_items":"#, queue.items)
        case .chunkDispatched(let job, let chunk, let start, let count, let pid, let queue):
            head(event, #","event":"chunkDispatched""#)
            field(#","job":"#, job); field(#","chunk":"#, chunk); field(#","start":"#, start)
            field(#","count":"#, count); field(#","pid":"#, pid)
            field(#","queued_chunks":"#, queue.chunks); field(#","queued_items":"#, queue.items)
        case .itemStarted(let job, let index, let pid):
            head(event, #","event":"itemStarted""#)
            field(#","job":"#, job); field(#","index":"#, index); field(#","pid":"#, pid)
        case .itemFinished(let job, let index, let pid, nil, let nanoseconds):
            head(event, #","event":"itemFinished""#)
            field(#","job":"#, job); field(#","index":"#, index); field(#","pid":"#, pid); field(#","ns":"#, nanoseconds)
        case .resultsDelivered(let job, let start, let count):
            head(event, #","event":"resultsDelivered""#)
            field(#","job":"#, job); field(#","start":"#, start); field(#","count":"#, count)
        default:
            return false
        }
        raw("}")
        return true
    }

    /// `{"v":3,"t":12.000345678` and the event's name.
    private mutating func head(_ event: PoolEvent, _ name: StaticString) {
        raw(#"{"v":"#)
        decimal(UInt64(PoolEvent.jsonSchemaVersion))
        raw(#","t":"#)
        decimal(event.time / 1_000_000_000)
        raw(".")
        var fraction = event.time % 1_000_000_000
        for position in stride(from: 8, through: 0, by: -1) {
            base[count + position] = UInt8(ascii: "0") + UInt8(fraction % 10)
            fraction /= 10
        }
        count += 9
        raw(name)
    }

    private mutating func raw(_ text: StaticString) {
        memcpy(base + count, text.utf8Start, text.utf8CodeUnitCount)
        count += text.utf8CodeUnitCount
    }

    private mutating func field(_ key: StaticString, _ value: some BinaryInteger) {
        raw(key)
        if value < 0 {
            base[count] = UInt8(ascii: "-")
            count += 1
            decimal(UInt64(value.magnitude))
        } else {
            decimal(UInt64(value))
        }
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
            base[count + position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
        count += digits
    }
}
