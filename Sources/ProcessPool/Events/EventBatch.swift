/// The events the IO thread produced during one turn of its loop, handed to the ``EventHub`` at
/// the end of the turn (or before a subscriber joins or the hub finishes): subscribers then take
/// a lock once per batch, not once per event. Only the IO thread touches it.
final class EventBatch {
    let hub: EventHub
    private var pending: [PoolEvent] = []
    /// The latest time stamped, so that times never go backwards even when a run of events
    /// shares one clock reading.
    private var lastTime: UInt64 = 0
    /// When the subscribers were last handed a batch (CLOCK_MONOTONIC).
    private var lastDelivery: UInt64 = 0

    /// While the pool is busy, subscribers are handed events at most this often (nanoseconds).
    /// Handing over every turn's events woke each watcher thousands of times a second on a
    /// pool of tiny tasks, each wake-up taking a core from the workers; a monitor draws a frame
    /// every 33 ms, and a few milliseconds' events fold into a few runs. (Measured with
    /// `poolmon-bench compare --only map_chunk1,monitored,monitored_socket --rounds 3`: 1 ms
    /// gave 0.84 and 0.96, 4 ms 0.93 and 0.93, 8 ms 0.87 and 0.98; runs vary by a few percent.)
    static let deliveryInterval: UInt64 = 4_000_000
    /// ``deliveryInterval`` as the IO loop's `epoll_wait` timeout, in milliseconds.
    static let deliveryIntervalMilliseconds = Int32(deliveryInterval / 1_000_000)
    /// A batch this large goes at once, whenever it was due.
    static let deliverAtLeast = 4096

    init(hub: EventHub) { self.hub = hub }

    /// Whether anyone listens; the engine skips building costly events when not.
    @inline(__always)
    var isActive: Bool { hub.isActive }

    /// Now, in event time (nanoseconds since the pool started).
    @inline(__always)
    func now() -> UInt64 { MonotonicClock.nanoseconds() &- hub.origin }

    /// Records an event, stamped now.
    @inline(__always)
    func emit(_ kind: @autoclosure () -> PoolEvent.Kind) {
        guard hub.isActive else { return }
        append(kind(), at: now())
    }

    /// Records an event stamped `time` (from ``now()``): a run of events that happen together,
    /// such as the results of one frame, shares one clock reading.
    @inline(__always)
    func emit(_ kind: @autoclosure () -> PoolEvent.Kind, at time: UInt64) {
        guard hub.isActive else { return }
        append(kind(), at: time)
    }

    private func append(_ kind: PoolEvent.Kind, at time: UInt64) {
        lastTime = max(lastTime, time)
        if pending.isEmpty { pending.reserveCapacity(256) }
        // Short successes that continue the run just before them join it: with chunk size 1 each
        // result frame holds one item, and one turn's frames from a worker make one event.
        if let (job, start, count, pid, nanoseconds) = Self.shortRun(kind), let last = pending.last,
           let previous = Self.shortRun(last.kind), previous.job == job, previous.pid == pid,
           previous.start + previous.count == start {
            pending[pending.count - 1] = PoolEvent(
                time: lastTime,
                kind: .itemsFinished(job: job, start: previous.start, count: previous.count + count, pid: pid,
                                     nanoseconds: previous.nanoseconds &+ nanoseconds))
            return
        }
        pending.append(PoolEvent(time: lastTime, kind: kind))
    }

    /// A short successful item or run of them, as a run.
    @inline(__always)
    private static func shortRun(_ kind: PoolEvent.Kind)
        -> (job: Int, start: Int, count: Int, pid: Int32, nanoseconds: UInt64)?
    {
        switch kind {
        case .itemsFinished(let job, let start, let count, let pid, let nanoseconds):
            return (job, start, count, pid, nanoseconds)
        case .itemFinished(let job, let index, let pid, nil, let nanoseconds) where nanoseconds < PoolEvent.perItemThreshold:
            return (job, index, 1, pid, nanoseconds)
        default:
            return nil
        }
    }

    /// Hands the batch to the subscribers if the last hand-over was at least
    /// ``deliveryInterval`` ago, or it is large; otherwise keeps it for a later turn.
    /// - Returns: whether events are held (the IO loop must then wake within
    ///   ``deliveryIntervalMilliseconds``).
    func flushIfDue() -> Bool {
        guard !pending.isEmpty else { return false }
        if pending.count >= Self.deliverAtLeast || MonotonicClock.nanoseconds() &- lastDelivery >= Self.deliveryInterval {
            flush()
            return false
        }
        return true
    }

    /// Hands the batch to the subscribers.
    func flush() {
        guard !pending.isEmpty else { return }
        lastDelivery = MonotonicClock.nanoseconds()
        hub.deliver(pending)
        // Subscribers may share the batch's storage now (a subscriber with an empty queue takes
        // it whole): start a new one rather than write into it.
        pending = []
    }

    /// Starts a subscriber after every event so far has gone to the others.
    func activate(_ id: Int, snapshot: [PoolEvent.Kind]) {
        flush()
        hub.activate(id, snapshot: snapshot)
    }

    /// Hands over the last events and ends every stream.
    func finishAll() {
        flush()
        hub.finishAll()
    }
}
