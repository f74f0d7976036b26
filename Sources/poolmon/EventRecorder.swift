import ArgumentParser
import Foundation
import ProcessPool

/// Writes pool events to a file as JSON Lines (`--events FILE`).
final class EventRecorder: @unchecked Sendable {
    // Safe: `handle` and `buffer` are used by one task at a time: `record`/`append` from the
    // task that reads the event stream, then `finish` once that task is done with them.
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    let path: String

    /// Opens (creating or truncating) `path`.
    /// - Throws: a `ValidationError` (exit status 64) naming the path and the reason.
    init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path)
        else {
            let reason = String(cString: strerror(errno))
            throw ValidationError("cannot write the event log '\(path)': \(reason)")
        }
        self.handle = handle
    }

    /// Writes every event of `events` until the stream ends.
    func record(_ events: AsyncStream<PoolEvent>) async {
        for await event in events { append(event) }
        flush()
    }

    /// Writes one event (buffered).
    func append(_ event: PoolEvent) {
        buffer.append(contentsOf: event.jsonLine.utf8)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 16 { flush() }
    }

    /// Flushes and closes the file.
    func finish(dropped: Int) throws {
        flush()
        try handle.close()
        if dropped > 0 {
            FileHandle.standardError.write(Data("poolmon: \(dropped) events were dropped from '\(path)' (the writer fell behind)\n".utf8))
        }
    }

    private func flush() {
        guard !buffer.isEmpty else { return }
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
