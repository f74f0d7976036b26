import Synchronization

/// Fans events out to subscribers through bounded queues.
///
/// The engine never waits for a subscriber: each has a queue of fixed size, and what does not fit
/// is dropped, counted, and announced to that subscriber with ``PoolEvent/Kind/eventsDropped(count:)``
/// as soon as there is room again. With no subscribers, events are not even built. The IO thread
/// hands events over in batches (see ``EventBatch``), one lock per subscriber per batch.
final class EventHub: Sendable {
    private struct State {
        var subscriptions: [EventSubscription] = []
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
        guard let handle = makeSubscription(bufferingLimit: bufferingLimit) else { return (AsyncStream { nil }, nil) }
        let stream = AsyncStream(unfolding: {
            // Synchronous first: a queued event costs no further async call.
            if let event = handle.subscription.nextIfQueued() { return event }
            return await handle.subscription.next()
        }, onCancel: { handle.cancel() })
        return (stream, handle.subscription.id)
    }

    /// Like ``subscribe(bufferingLimit:)``, handing events over a batch at a time.
    func subscribeBatches(bufferingLimit: Int) -> (AsyncStream<[PoolEvent]>, Int?) {
        guard let handle = makeSubscription(bufferingLimit: bufferingLimit) else { return (AsyncStream { nil }, nil) }
        let stream = AsyncStream(unfolding: { await handle.subscription.nextBatch() }, onCancel: { handle.cancel() })
        return (stream, handle.subscription.id)
    }

    /// A subscriber read synchronously (``EventSubscription/takeAll()``) by a thread of its own,
    /// such as the monitor channel's. It receives nothing until activated; dropping the handle
    /// unsubscribes.
    func subscribeDirect(bufferingLimit: Int) -> SubscriptionHandle? {
        makeSubscription(bufferingLimit: bufferingLimit)
    }

    /// The stream owns the handle: once the stream is gone, or its task is cancelled, the hub
    /// stops queueing events for it.
    private func makeSubscription(bufferingLimit: Int) -> SubscriptionHandle? {
        let subscription: EventSubscription? = state.withLock { state in
            guard !state.finished else { return nil }
            let subscription = EventSubscription(id: state.nextID, limit: bufferingLimit)
            state.nextID += 1
            state.subscriptions.append(subscription)
            return subscription
        }
        return subscription.map { SubscriptionHandle(hub: self, subscription: $0) }
    }

    /// Sends `snapshot` (the state so far) to a new subscriber, then lets it receive every event.
    /// Called on the IO thread, after it has handed over every earlier event, so nothing can slip
    /// between the snapshot and the live events.
    func activate(_ id: Int, snapshot: [PoolEvent.Kind]) {
        let now = MonotonicClock.nanoseconds() &- origin
        let subscription = state.withLock { state in state.subscriptions.first { $0.id == id } }
        guard let subscription else { return }
        subscription.activate(with: snapshot.map { PoolEvent(time: now, kind: $0) })
        // Recomputed under the lock: the subscriber may have gone meanwhile.
        state.withLock { state in
            hasSubscribers.store(state.subscriptions.contains(where: \.isActive), ordering: .releasing)
        }
    }

    fileprivate func unsubscribe(_ id: Int) {
        let removed: EventSubscription? = state.withLock { state in
            guard let index = state.subscriptions.firstIndex(where: { $0.id == id }) else { return nil }
            let removed = state.subscriptions.remove(at: index)
            hasSubscribers.store(state.subscriptions.contains(where: \.isActive), ordering: .releasing)
            return removed
        }
        removed?.finish()
    }

    /// Whether anyone listens; callers skip building events when not.
    @inline(__always)
    var isActive: Bool { hasSubscribers.load(ordering: .acquiring) }

    /// Queues a batch of events for every active subscriber (IO thread).
    func deliver(_ batch: [PoolEvent]) {
        let subscriptions = state.withLock { $0.subscriptions }
        var dropped = 0
        for subscription in subscriptions { dropped += subscription.push(batch) }
        if dropped > 0 { state.withLock { $0.totalDropped += dropped } }
    }

    /// Ends every stream (after the events already queued) and refuses new subscribers.
    func finishAll() {
        let subscriptions = state.withLock { state in
            state.finished = true
            let all = state.subscriptions
            state.subscriptions = []
            hasSubscribers.store(false, ordering: .releasing)
            return all
        }
        for subscription in subscriptions { subscription.finish() }
    }
}

/// Unsubscribes when the stream that owns it goes away or its task is cancelled.
final class SubscriptionHandle: Sendable {
    let hub: EventHub
    let subscription: EventSubscription

    init(hub: EventHub, subscription: EventSubscription) {
        self.hub = hub
        self.subscription = subscription
    }

    func cancel() { hub.unsubscribe(subscription.id) }

    deinit { hub.unsubscribe(subscription.id) }
}
