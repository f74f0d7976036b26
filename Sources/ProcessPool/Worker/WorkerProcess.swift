import CSystemShims
import Glibc

/// The worker side of the pool: the same executable, started by the pool in worker mode.
///
/// Call ``runIfRequested(_:)`` first thing in `main` (before argument parsing, before any thread
/// starts). In the parent it returns at once; in a worker it serves tasks and never returns.
public enum WorkerProcess {
    /// Set in a worker's environment to the parent's PID; its presence selects worker mode.
    public static let environmentKey = "PROCESSPOOL_WORKER_PARENT"
    /// The worker reads commands from this descriptor.
    static let commandDescriptor: Int32 = 3
    /// The worker writes results to this descriptor.
    static let resultDescriptor: Int32 = 4

    /// Whether this process was started by a pool as a worker.
    public static var isWorker: Bool { getenv(environmentKey) != nil }

    /// In a worker, serves tasks from `registry` until the pool closes the command pipe, then
    /// exits the process. Anywhere else, returns immediately.
    public static func runIfRequested(_ registry: TaskRegistry) {
        guard let value = getenv(environmentKey) else { return }
        let parent = pid_t(String(cString: value)) ?? 0
        unsetenv(environmentKey)  // a task that runs this program again gets a normal process
        // Die with the parent: the signal covers a crash of the parent, the check covers a parent
        // that died before prctl ran; EOF on the command pipe covers the rest.
        _ = cshim_set_parent_death_signal(SIGKILL)
        if parent != 0 && getppid() != parent { exit(70) }
        signal(SIGPIPE, SIG_IGN)
        var loop = WorkerLoop(registry: registry)
        loop.run()
    }

    /// Writes `line` and a newline to standard output in a single `write`, so that lines from
    /// different workers sharing a terminal never interleave mid-line.
    public static func printLine(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { raw in _ = writeFully(1, raw) }
    }

    @discardableResult
    static func writeFully(_ fd: Int32, _ raw: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }
}

/// The worker's single-threaded serve loop: read chunks, run items, batch results.
struct WorkerLoop {
    let registry: TaskRegistry
    private let inbox = ByteQueue(capacity: 262_144)
    private var out = WireWriter(capacity: 65_536)
    /// Duration of the previous item; long items get their start reported (and flushed) at once.
    private var previousItemNanoseconds: UInt64 = .max
    private var lastFlush: UInt64 = 0
    /// Below this previous-item duration, starts are not reported individually: the result
    /// frames (which carry durations) say enough, and a flush per item would cap throughput.
    private static let reportStartsAbove: UInt64 = 200_000
    /// Even fast items report a start at least this often, so a monitor never sees a stale worker.
    private static let reportInterval: UInt64 = 10_000_000

    init(registry: TaskRegistry) { self.registry = registry }

    mutating func run() -> Never {
        while true {
            do {
                try handleBufferedFrames()
            } catch {
                fail("bad command frame: \(error)")
            }
            flush()
            let got = inbox.read(from: WorkerProcess.commandDescriptor)
            if got == 0 { exit(0) }  // the pool closed the pipe: finished
            if got < 0 && errno != EINTR { exit(71) }
        }
    }

    private mutating func handleBufferedFrames() throws {
        while true {
            let frame = try inbox.withUnsafeBytes { raw throws(WireFormatError) in
                try Frame.next(in: raw, at: inbox.head)
            }
            guard let frame else { return }
            try inbox.withUnsafeBytes { raw in
                var reader = WireReader(UnsafeRawBufferPointer(rebasing: raw[frame.body]))
                switch FrameKind(rawValue: frame.kind) {
                case .hello: try handleHello(&reader)
                case .chunk: try handleChunk(&reader)
                default: throw WireFormatError.invalidValue("frame kind \(frame.kind) sent to a worker")
                }
            }
            inbox.consume(upTo: frame.end)
        }
    }

    private mutating func handleHello(_ reader: inout WireReader) throws {
        if try reader.read(UInt8.self) == 1 {
            let name = try reader.read(String.self)
            let argument = reader.readRest()
            guard let body = registry.body(named: name) else {
                initializerFailed("initializer task '\(name)' is not registered in the worker")
            }
            var scratch = WireWriter()
            switch body(argument, &scratch) {
            case .success: break
            case .taskFailed(let type, let description): initializerFailed("\(type): \(description)")
            case .argumentUndecodable(let message), .resultUnencodable(let message): initializerFailed(message)
            }
        }
        let start = Frame.begin(.ready, in: &out)
        Frame.end(&out, at: start)
        flush()
    }

    private mutating func handleChunk(_ reader: inout WireReader) throws {
        let job = try reader.read(UInt32.self)
        let start = try reader.read(UInt32.self)
        let count = try reader.read(UInt32.self)
        let careful = try reader.read(UInt8.self) & 1 != 0
        let name = try reader.read(String.self)
        let body = registry.body(named: name)
        for offset in 0..<count {
            let length = Int(try reader.read(UInt32.self))
            let argument = try reader.readRaw(count: length)
            let index = start + offset
            let now = MonotonicClock.nanoseconds()
            if careful || previousItemNanoseconds >= Self.reportStartsAbove || now &- lastFlush >= Self.reportInterval {
                let frame = Frame.begin(.itemStarted, in: &out)
                out.write(job)
                out.write(index)
                Frame.end(&out, at: frame)
                flush()
            }
            runItem(job: job, index: index, body: body, name: name, argument: argument, startedAt: now)
            if out.bytes.count >= 65_536 { flush() }
        }
    }

    private mutating func runItem(
        job: UInt32, index: UInt32, body: TaskRegistry.Body?, name: String,
        argument: UnsafeRawBufferPointer, startedAt: UInt64
    ) {
        let frame = Frame.begin(.itemResult, in: &out)
        out.write(job)
        out.write(index)
        let statusOffset = out.bytes.count
        out.write(ItemStatus.ok.rawValue)
        let durationOffset = out.bytes.count
        out.write(UInt64(0))
        let payloadStart = out.bytes.count

        var status = ItemStatus.ok
        var failure: (type: String, description: String)?
        if let body {
            switch body(argument, &out) {
            case .success: break
            case .taskFailed(let type, let description):
                status = .taskFailed
                failure = (type, description)
            case .argumentUndecodable(let message):
                status = .argumentUndecodable
                failure = ("ArgumentDecodingError", message)
            case .resultUnencodable(let message):
                status = .resultUnencodable
                failure = ("ResultEncodingError", message)
            }
        } else {
            status = .unknownTask
            failure = ("UnknownTask", "task '\(name)' is not registered in the worker")
        }
        let elapsed = MonotonicClock.nanoseconds() &- startedAt
        previousItemNanoseconds = elapsed
        if let failure {
            out.bytes.removeSubrange(payloadStart...)
            out.write(failure.type)
            out.write(failure.description)
        }
        out.patch(status.rawValue, at: statusOffset)
        out.patch(elapsed, at: durationOffset)
        Frame.end(&out, at: frame)
    }

    private mutating func flush() {
        guard !out.bytes.isEmpty else { return }
        let ok = out.bytes.withUnsafeBytes { WorkerProcess.writeFully(WorkerProcess.resultDescriptor, $0) }
        if !ok { exit(72) }  // the parent is gone
        out.removeAll()
        lastFlush = MonotonicClock.nanoseconds()
    }

    private mutating func initializerFailed(_ message: String) -> Never {
        let frame = Frame.begin(.initializerFailed, in: &out)
        out.write(message)
        Frame.end(&out, at: frame)
        flush()
        exit(73)
    }

    private func fail(_ message: String) -> Never {
        WorkerProcess.printLine("poolmon worker \(getpid()): \(message)")
        exit(74)
    }
}
