/// Results of a stream on their way from the pool's IO thread to the stream's consumer, in the
/// order they are to be handed out: each success as its encoded bytes, each failure as its error.
///
/// The IO thread is the pool's busiest thread, so it only copies bytes here: no decoding and no
/// generic code, which unspecialized (the element type is the caller's) looked up type metadata
/// per result. The consumer takes a whole batch at once and decodes it in its own, specialized
/// code (``ResultStream/AsyncIterator/next()`` is inlinable).
@usableFromInline
struct StreamResults: Sendable {
    /// The successes' encoded results, back to back.
    @usableFromInline var bytes = WireWriter()
    /// Where each result ends in `bytes` (a failure takes no bytes).
    @usableFromInline var ends: [Int] = []
    /// The failures, by position.
    @usableFromInline var failures: [Int: any Error] = [:]

    @usableFromInline init() {}

    @usableFromInline var count: Int { ends.count }
    var isEmpty: Bool { ends.isEmpty }

    mutating func append(_ raw: UnsafeRawBufferPointer) {
        bytes.writeRaw(raw)
        ends.append(bytes.count)
    }

    mutating func append(failure: any Error) {
        failures[ends.count] = failure
        ends.append(bytes.count)
    }

    mutating func append(contentsOf other: StreamResults) {
        let base = bytes.count
        let first = ends.count
        bytes.writeRaw(other.bytes)
        ends.append(contentsOf: other.ends.lazy.map { $0 + base })
        for (position, failure) in other.failures { failures[first + position] = failure }
    }

    /// Drops every result, keeping the storage.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        failures.removeAll()
    }

    /// The result at `position`, decoded with `decode`; a result that cannot be decoded is a
    /// ``PoolError/Code/encoding`` failure.
    @inlinable
    func result<Element>(at position: Int, decode: (inout WireReader) throws -> Element) -> Result<Element, any Error> {
        if !failures.isEmpty, let failure = failures[position] { return .failure(failure) }
        let start = position == 0 ? 0 : ends[position - 1]
        let end = ends[position]
        return bytes.withUnsafeBytes { raw in
            var reader = WireReader(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
            do {
                return .success(try decode(&reader))
            } catch {
                return .failure(Self.undecodable(error))
            }
        }
    }

    @usableFromInline
    static func undecodable(_ error: any Error) -> any Error {
        PoolError(.encoding, "could not decode a result: \(error)")
    }
}
