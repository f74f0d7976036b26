import CSystemShims
import Foundation
import Glibc
import PoolMonitor
import ProcessPool

/// The monitor's end of one pool's channel, for the `monitored_socket` workload: a thread that
/// accepts the pool's connection, reads everything it sends, parses each line with
/// `ChannelMessage(lineUTF8:)` and folds the events into a `MonitorState`, as `poolmon watch` does.
final class SocketWatcher: @unchecked Sendable {
    // Safe: the fields below are written by the reader thread and read by `finish()` only after
    // `done` is signalled (the condition's lock orders them).
    private let listener: Int32
    private let workers: Int
    private let condition = NSCondition()
    private var done = false
    private var events = 0
    private var completions: [UInt64] = []
    private var dropped = 0

    init(listener: Int32, workers: Int) {
        self.listener = listener
        self.workers = workers
    }

    func start() {
        let thread = Thread { self.run() }
        thread.name = "bench socket watcher"
        thread.start()
    }

    /// Waits for the pool's connection to end (the pool is gone), then returns the events folded,
    /// when (``now()``) each `jobCompleted` was folded, in order, and the drops announced.
    func finish() -> (events: Int, completions: [UInt64], dropped: Int) {
        condition.lock()
        while !done { condition.wait() }
        defer { condition.unlock() }
        return (events, completions, dropped)
    }

    /// CLOCK_MONOTONIC in nanoseconds.
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    private func run() {
        defer {
            condition.lock()
            done = true
            condition.broadcast()
            condition.unlock()
        }
        var listening = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
        guard poll(&listening, 1, 30_000) > 0 else { return }
        let fd = cshim_unix_accept(listener)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var state = MonitorState(settings: MonitorSettings(workers: workers, chunksize: .fixed(1)))
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var input: [UInt8] = []
        var completed: [UInt64] = []
        var count = 0
        var drops = 0
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, 1000)
            let got = read(fd, &buffer, buffer.count)
            if got == 0 { break }
            if got < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                break
            }
            input.append(contentsOf: buffer[0..<got])
            var consumed = 0
            while let newline = input[consumed...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = input[consumed..<newline]
                consumed = newline + 1
                guard let message = try? line.withUnsafeBufferPointer({ try ChannelMessage(lineUTF8: $0) }),
                      case .event(let event) = message
                else { continue }
                count += 1
                state.apply(event)
                if case .eventsDropped(count: let n) = event.kind { drops += n }
                if case .jobCompleted = event.kind { completed.append(Self.now()) }
            }
            input.removeFirst(consumed)
        }
        condition.lock()
        events = count
        completions = completed
        dropped = drops
        condition.unlock()
    }
}
