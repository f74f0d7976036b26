import DequeModule
import Glibc

/// One worker process as the IO thread sees it. Only the IO thread touches it.
final class WorkerRecord {
    enum State {
        /// Spawned; its `ready` frame has not arrived yet (it may already hold work).
        case starting
        case ready
        /// Takes no new work; its command pipe closes once its chunks are done.
        case retiring
        /// Its command pipe is closed: it finishes what it has, then exits.
        case draining
    }

    /// A run of consecutive chunks of one job sent to this worker in one command (one chunk,
    /// unless the worker runs tiny items and took several at once), with the next item it has
    /// not reported yet. Every chunk of a run but the last holds exactly `chunksize` items.
    struct InflightChunk {
        let job: JobRecord
        /// The run's first chunk number.
        let chunk: Int
        /// How many chunks the run holds.
        let chunks: Int
        /// Items per chunk in the run (its last chunk may be shorter).
        let chunksize: Int
        let start: Int
        let count: Int
        var next: Int
        /// Sent in careful mode: the worker reports and flushes every item's start, so the last
        /// reported start is exactly the item running now.
        let careful: Bool
        var end: Int { start + count }

        /// How many of the run's chunks are finished once every item before `item` is.
        @inline(__always)
        func chunksFinished(before item: Int) -> Int {
            item >= end ? chunks : (item - start) / chunksize
        }

        /// The chunks of the run from the one holding `item` on, as (chunk number, start, end),
        /// the first starting at `item`: what goes back to the queue when the worker dies.
        func pieces(from item: Int) -> [(chunk: Int, start: Int, end: Int)] {
            var pieces: [(chunk: Int, start: Int, end: Int)] = []
            var position = min((item - start) / chunksize, chunks - 1)
            var from = item
            while from < end {
                let to = position == chunks - 1 ? end : start + (position + 1) * chunksize
                pieces.append((chunk + position, from, to))
                from = to
                position += 1
            }
            return pieces
        }
    }

    /// Unique for the pool's life (slots are reused), used in epoll tokens.
    let id: UInt64
    let slot: Int
    /// The worker's PID as events and errors name it: the process started here, or for a worker
    /// started through a launcher, the remote PID its identity frame reported.
    var pid: Int32
    /// The process started here (the worker, or its launcher: ssh, srun), which `pidfd` watches
    /// and which is signalled and reaped. Never the remote PID: that names nothing here.
    let localPID: Int32
    /// The host a worker started through a launcher runs on (from its identity frame; before it,
    /// the ssh destination); `nil` for a local worker.
    var host: String?
    /// The ssh destination it was launched to (`nil` for local workers and srun).
    let launchHost: String?
    /// Whether the PID above is the worker's: at once for a local worker, after its identity
    /// frame for a remote one. Only identified workers get work and appear in events.
    var identified: Bool
    let pidfd: Int32
    var commandFD: Int32
    var resultFD: Int32
    var outputFD: Int32
    var state: State = .starting
    /// Whether the worker said it was ready (its initializer ran). One that exits before, even
    /// after its pipe was closed on it, counts as a failure to start.
    var saidReady = false
    /// When the worker was spawned (CLOCK_MONOTONIC, right after the spawn): for
    /// ``PoolSettings/startupTimeout`` and its death report's lifetime.
    let spawnedAt = MonotonicClock.nanoseconds()
    /// Why the pool asked it to stop, if it did.
    var exitIntent: WorkerExitReason?

    let inbox = ByteQueue()
    var outbox = CommandOutbox()
    var watchingWritable = false
    var outputLine: [UInt8] = []

    var inflight = Deque<InflightChunk>()
    var inflightItems = 0
    /// Chunks in `inflight`, counting each chunk of a run.
    var inflightChunks = 0
    var chunksAssigned = 0
    /// Moving average of item durations; negative until the first result.
    var meanItemNanoseconds: Double = -1
    /// The job whose items that average is over: another job's items may take any time, so the
    /// worker gets chunks of it one at a time until it reports one.
    var meanJob = -1
    var itemsDone = 0
    /// When a frame last arrived from the worker (CLOCK_MONOTONIC): a busy worker silent for
    /// longer than the task timeout is running one item that long.
    var lastHeard: UInt64 = 0
    /// Set once the worker was sent SIGTERM for a timeout: when SIGKILL follows.
    var killDeadline: UInt64?
    /// The item known to be running past the timeout (its start was reported), if known.
    var timedOutItem: (job: Int, index: Int)?
    /// Signals sent to it through ``ProcessPool/signalWorker(pid:signal:)``: a death by one of
    /// them is the caller's doing, not evidence against the item it was running.
    var requestedSignals: Set<Int32> = []
    /// The last item the worker reported starting.
    var lastStarted: (job: Int, index: Int)?
    /// Its last output lines, for its death report (bounded: see ``WorkerExitDetails``).
    var lastOutput = Deque<String>()

    /// Keeps `line` among the last output lines of the death report, unless it is part of the
    /// Swift runtime's stack trace: in a debug build a `fatalError` prints one line, then
    /// "Current stack trace:" and some twenty frames, which would push the message itself out of
    /// the few lines kept. (The frames are still shown or forwarded like any other output.)
    func rememberOutput(_ line: String) {
        if Self.isStackTraceLine(line) { return }
        if lastOutput.count >= WorkerExitDetails.maxOutputLines { lastOutput.removeFirst() }
        lastOutput.append(String(line.prefix(WorkerExitDetails.maxLineLength)))
    }

    /// "Current stack trace:", or one of its frames: `12   libswiftCore.so   0x00007f… symbol + 33`.
    static func isStackTraceLine(_ line: String) -> Bool {
        if line == "Current stack trace:" { return true }
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        guard let first = line.utf8.first, isDigit(first) else { return false }
        return line.utf8.drop(while: isDigit).first == UInt8(ascii: " ") && line.contains(" 0x")
    }

    init(id: UInt64, slot: Int, pid: Int32, pidfd: Int32, commandFD: Int32, resultFD: Int32, outputFD: Int32,
         host: String? = nil, identified: Bool = true) {
        self.id = id
        self.slot = slot
        self.pid = pid
        self.localPID = pid
        self.host = host
        self.launchHost = host
        self.identified = identified
        self.pidfd = pidfd
        self.commandFD = commandFD
        self.resultFD = resultFD
        self.outputFD = outputFD
    }

    /// Counts toward the pool's size: started (a remote one may still be connecting) and not
    /// asked to stop.
    var isLive: Bool {
        (state == .starting || state == .ready) && commandFD >= 0
    }

    /// May be sent chunks: live, and (remote) its identity known, so events can name it.
    var acceptsWork: Bool { isLive && identified }

    /// The moving average of item durations after one more item (`mean` negative: none yet).
    @inline(__always)
    static func movingMean(_ mean: Double, adding nanoseconds: UInt64) -> Double {
        let value = Double(nanoseconds)
        return mean < 0 ? value : mean * 0.8 + value * 0.2
    }

    /// The moving average after `times` more items of `nanoseconds` each (a run reported with
    /// its total only), as `times` calls of ``movingMean(_:adding:)`` would give, at once.
    static func movingMean(_ mean: Double, adding nanoseconds: UInt64, times: Int) -> Double {
        let value = Double(nanoseconds)
        return mean < 0 ? value : value + (mean - value) * pow(0.8, Double(times))
    }
}
