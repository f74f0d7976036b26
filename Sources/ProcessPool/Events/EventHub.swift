import Synchronization

/// Fans events out to subscribers through bounded buffers.
///
/// The engine never waits for a subscriber: each has a buffer of fixed size, and what does not fit
/// is dropped, counted, and announced to that subscriber with ``PoolEvent/Kind/eventsDropped(count:)``
/// as soon as there is room again. With no subscribers, events are not even built.
final class EventHub: Sendable {
    private struct Subscriber {
        let id: Int
        let continuation: AsyncStream<PoolEvent>.Continuation
        var unannouncedDrops = 0
        /// Inactive until the IO thread has sent it the current state (see ``activate(_:snapshot:)``).
        var active = false
    }

    private struct State {
        var subscribers: [Subscriber] = []
        var nextID = 0
        var finished = false
        var totalDropped = 0
    }

    private let state = Mutex(State())
    private let hasSubscribers = Atomic<Bool>(false)
    let origin: UInt64

    init(origin: UInt64) { self.origin = origin }

    /// Events dropped so far, over all subscribers.
    var droppedCount: Int { state.withLock { $0.totalDropped } }

    /// Creates a subscriber that receives nothing until ``activate(_:snapshot:)``.
    /// - Returns: the stream and the subscriber's id (`nil` once the hub has finished).
    func subscribe(bufferingLimit: Int) -> (AsyncStream<PoolEvent>, Int?) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: PoolEvent.self, bufferingPolicy: .bufferingOldest(max(1, bufferingLimit)))
        let id: Int? = state.withLock { state in
            guard !state.finished else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers.append(Subscriber(id: id, continuation: continuation))
            return id
        }
        guard let id else {
            continuation.finish()
            return (stream, nil)
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return (stream, id)
    }

    /// Sends `snapshot` (the state so far) to a new subscriber, then lets it receive every event.
    /// Called on the IO thread, so nothing can slip between the snapshot and the live events.
    func activate(_ id: Int, snapshot: [PoolEvent.Kind]) {
        let now = MonotonicClock.nanoseconds() &- origin
        state.withLock { state in
            guard let i = state.subscribers.firstIndex(where: { $0.id == id }) else { return }
            for kind in snapshot { state.subscribers[i].continuation.yield(PoolEvent(time: now, kind: kind)) }
            state.subscribers[i].active = true
            hasSubscribers.store(true, ordering: .releasing)
        }
    }

    private func unsubscribe(_ id: Int) {
        state.withLock { state in
            state.subscribers.removeAll { $0.id == id }
            hasSubscribers.store(state.subscribers.contains(where: \.active), ordering: .releasing)
        }
    }

    /// Whether anyone listens; callers skip building costly events when not.
    @inline(__always)
    var isActive: Bool { hasSubscribers.load(ordering: .acquiring) }

    /// Sends an event to every subscriber, stamped now.
    @inline(__always)
    func emit(_ kind: @autoclosure () -> PoolEvent.Kind) {
        guard isActive else { return }
        let event = PoolEvent(time: MonotonicClock.nanoseconds() &- origin, kind: kind())
        state.withLock { state in
            for i in state.subscribers.indices where state.subscribers[i].active {
                if state.subscribers[i].unannouncedDrops > 0 {
                    let notice = PoolEvent(time: event.time, kind: .eventsDropped(count: state.subscribers[i].unannouncedDrops))
                    if case .enqueued = state.subscribers[i].continuation.yield(notice) {
                        state.subscribers[i].unannouncedDrops = 0
                    }
                }
                if case .dropped = state.subscribers[i].continuation.yield(event) {
                    state.subscribers[i].unannouncedDrops += 1
                    state.totalDropped += 1
                }
            }
        }
    }

    /// Ends every stream (after the events already buffered) and refuses new subscribers.
    func finishAll() {
        let subscribers = state.withLock { state in
            state.finished = true
            let all = state.subscribers
            state.subscribers = []
            hasSubscribers.store(false, ordering: .releasing)
            return all
        }
        for subscriber in subscribers { subscriber.continuation.finish() }
    }
}
