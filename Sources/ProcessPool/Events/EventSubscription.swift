import Synchronization

/// One subscriber's queue of events: the IO thread appends a batch per turn of its loop, the
/// subscriber's task takes everything queued at once and then reads it from its own side.
///
/// The subscriber sees it as an `AsyncStream` built with `init(unfolding:)` on ``next()``. A
/// stream fed with one `yield` per event takes the stream's lock per event on both sides, and at
/// a few hundred thousand events a second the two sides mostly waited for each other (measured:
/// a watched `map_chunk1` ran at a fifth of its unwatched speed; now about two thirds).
final class EventSubscription: Sendable {
    private struct Queue {
        var events: [PoolEvent] = []
        /// Tasks waiting in ``next()`` (one, unless the stream is shared between tasks).
        var waiters: [CheckedContinuation<Void, Never>] = []
        var finished = false
        /// Inactive until the IO thread has sent the state so far (see ``EventHub/activate(_:snapshot:)``).
        var active = false
        /// Events dropped since the last `eventsDropped` notice this subscriber got.
        var unannouncedDrops = 0

        mutating func takeWaiters() -> [CheckedContinuation<Void, Never>] {
            guard !waiters.isEmpty else { return [] }
            defer { waiters = [] }
            return waiters
        }
    }

    /// What the subscriber took from the queue and has not read yet.
    private struct Taken {
        var events: [PoolEvent] = []
        var position = 0

        mutating func pop() -> PoolEvent? {
            guard position < events.count else { return nil }
            defer { position += 1 }
            return events[position]
        }
    }

    let id: Int
    /// Events held for the subscriber beyond what it has taken; what does not fit is dropped.
    let limit: Int
    private let queue = Mutex(Queue())
    /// Only the subscriber's task touches this; the lock is never contended and makes sharing the
    /// stream between tasks safe anyway.
    private let taken = Mutex(Taken())

    init(id: Int, limit: Int) {
        self.id = id
        self.limit = max(1, limit)
    }

    var isActive: Bool { queue.withLock { $0.active && !$0.finished } }

    /// Queues the snapshot for a new subscriber, then lets it receive every event.
    func activate(with snapshot: [PoolEvent]) {
        let waiters = queue.withLock { queue -> [CheckedContinuation<Void, Never>] in
            guard !queue.finished else { return [] }
            queue.events.append(contentsOf: snapshot)
            queue.active = true
            return queue.takeWaiters()
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Queues what fits of `batch` (IO thread).
    /// - Returns: how many events were dropped.
    func push(_ batch: [PoolEvent]) -> Int {
        let (dropped, waiters) = queue.withLock { queue -> (Int, [CheckedContinuation<Void, Never>]) in
            guard queue.active && !queue.finished else { return (0, []) }
            if queue.unannouncedDrops > 0 && queue.events.count < limit, let first = batch.first {
                queue.events.append(PoolEvent(time: first.time, kind: .eventsDropped(count: queue.unannouncedDrops)))
                queue.unannouncedDrops = 0
            }
            let room = max(0, limit - queue.events.count)
            let dropped = max(0, batch.count - room)
            if dropped == 0 {
                if queue.events.isEmpty {
                    queue.events = batch  // shares the batch's storage: no copy
                } else {
                    queue.events.append(contentsOf: batch)
                }
            } else {
                queue.events.append(contentsOf: batch.prefix(room))
                queue.unannouncedDrops += dropped
            }
            return (dropped, queue.takeWaiters())
        }
        for waiter in waiters { waiter.resume() }
        return dropped
    }

    /// Ends the stream after the events already queued.
    func finish() {
        let waiters = queue.withLock { queue -> [CheckedContinuation<Void, Never>] in
            queue.finished = true
            return queue.takeWaiters()
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Everything queued, without waiting, and whether the stream has ended (for a reader on a
    /// thread of its own; once `finished` is true, nothing more will come after these events).
    func takeAll() -> (events: [PoolEvent], finished: Bool) {
        queue.withLock { queue in
            defer { queue.events = [] }
            return (queue.events, queue.finished)
        }
    }

    /// The next event if one is queued, without suspending: the common case, kept synchronous
    /// so that reading a queued event costs no async call.
    func nextIfQueued() -> PoolEvent? {
        if let event = taken.withLock({ $0.pop() }) { return event }
        let batch = queue.withLock { queue -> [PoolEvent] in
            defer { queue.events = [] }
            return queue.events
        }
        guard !batch.isEmpty else { return nil }
        return taken.withLock { taken in
            taken = Taken(events: batch, position: 0)
            return taken.pop()
        }
    }

    /// The next event, waiting for one; nil once the stream has finished and everything queued
    /// was read.
    func next() async -> PoolEvent? {
        while true {
            if let event = nextIfQueued() { return event }
            guard await waitForEvents() else { return nil }
        }
    }

    /// Every event not read yet, waiting for at least one; nil once the stream has finished and
    /// everything queued was read. One call per turn of the IO loop, however many events it had.
    func nextBatch() async -> [PoolEvent]? {
        while true {
            let rest = taken.withLock { taken -> [PoolEvent] in
                guard taken.position < taken.events.count else { return [] }
                defer { taken = Taken() }
                return taken.position == 0 ? taken.events : Array(taken.events[taken.position...])
            }
            if !rest.isEmpty { return rest }
            let batch = queue.withLock { queue -> [PoolEvent] in
                defer { queue.events = [] }
                return queue.events
            }
            if !batch.isEmpty { return batch }
            guard await waitForEvents() else { return nil }
        }
    }

    /// Suspends until events are queued (true) or the stream has finished with none left (false).
    private func waitForEvents() async -> Bool {
        let finished = queue.withLock { $0.events.isEmpty && $0.finished }
        if finished { return false }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = queue.withLock { queue -> Bool in
                guard queue.events.isEmpty && !queue.finished else { return true }
                queue.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
        return true
    }
}
