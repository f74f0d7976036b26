import ProcessPool

/// The live state, the run's recorded events and, while paused, the state the screen shows.
///
/// Pausing must not lose events (the engine keeps going, and the stream must be drained), so
/// events always fold into ``live`` and are kept in ``store``; pausing keeps a copy of the live
/// state as it was. The copy is a value that shares storage with the live state until the live
/// state next changes (copy on write), so pausing costs one copy of the changed tables, once.
/// While paused the view can be moved to any moment the store still holds (``rewind(to:)``):
/// the state at that moment is rebuilt from the store's nearest checkpoint.
public struct MonitorFeed: Sendable {
    public private(set) var live: MonitorState
    /// The view as it was when paused (or at the moment rewound to); nil while running.
    public private(set) var frozen: MonitorState?
    /// Every event of the run so far (bounded: see ``EventStore``).
    public private(set) var store: EventStore
    /// Where the paused view stands: events folded (``EventStore`` positions); nil while live.
    public private(set) var position: Int?

    public init(_ state: MonitorState, store: EventStore = EventStore()) {
        live = state
        self.store = store
    }

    public var isPaused: Bool { frozen != nil }

    /// Whether the paused view was stepped away from the moment of the pause.
    public var isRewound: Bool { frozen?.freeze?.rewoundBy != nil }

    /// Events folded into the live state since the pause (0 while not paused).
    public var eventsSincePause: Int {
        guard frozen != nil else { return 0 }
        if let position { return store.endIndex - position }
        return 0
    }

    /// The position the screen shows: the paused one, else the newest.
    public var shownPosition: Int { position ?? store.endIndex }

    /// What to render: the live state, or the frozen one marked "PAUSED +N events" (or
    /// "REWOUND −3.2 s" once stepped).
    public var shown: MonitorState {
        guard var frozen else { return live }
        frozen.freeze?.eventsBehind = eventsSincePause
        if frozen.freeze?.rewoundBy != nil {
            frozen.freeze?.rewoundBy = live.lastEventTime &- min(live.lastEventTime, frozen.lastEventTime)
        }
        // Settings and totals belong to the app, not to the moment of the pause: keep them live
        // so that a key pressed while paused shows its effect.
        frozen.settings = live.settings
        frozen.pendingSettings = live.pendingSettings
        // …but a rewound view of the run before it ended has no totals yet.
        if frozen.freeze?.rewoundBy == nil || frozen.phase == .finished || frozen.phase == .terminated {
            frozen.summaryLines = live.summaryLines
        }
        frozen.watched = live.watched
        // What the processes use now is the system's, not the paused run's: keep it live too.
        frozen.resources = live.resources
        return frozen
    }

    public mutating func apply(_ event: PoolEvent) {
        store.append(event, stateBefore: live)
        live.apply(event)
    }

    public mutating func tick(now: UInt64) {
        live.tick(now: now)
        store.recordTick(now)
    }

    /// Pauses (freezing the view at `now`, in event time) or resumes.
    public mutating func togglePause(now: UInt64) {
        if frozen != nil {
            resume()
        } else {
            var copy = live
            copy.freeze = MonitorState.Freeze(at: live.displayTime(now), eventsBehind: 0)
            frozen = copy
            position = store.endIndex
        }
    }

    /// Back to the live view.
    public mutating func resume() {
        frozen = nil
        position = nil
    }

    /// Shows the pool as it was after the first `target` events (clamped to what the store
    /// keeps), pausing first if need be. Costs one checkpoint span of folding at most.
    public mutating func rewind(to target: Int) {
        let target = min(max(target, store.firstIndex), store.endIndex)
        guard var state = store.state(after: target) else { return }
        // Seen from the checkpoint's copy, the app's fields are the live ones (see `shown`).
        state.describer = live.describer
        state.freeze = MonitorState.Freeze(at: state.lastEventTime, eventsBehind: store.endIndex - target,
                                           rewoundBy: live.lastEventTime &- min(live.lastEventTime, state.lastEventTime),
                                           position: target)
        frozen = state
        position = target
    }

    /// Steps the view `count` events (negative: back), pausing first if running.
    public mutating func step(events count: Int) {
        rewind(to: shownPosition + count)
    }

    /// Steps the view by `nanoseconds` of event time (negative: back).
    public mutating func step(nanoseconds: Int64) {
        let from = store.time(before: shownPosition)
        let time = nanoseconds < 0 ? from &- min(from, UInt64(-nanoseconds)) : from &+ UInt64(nanoseconds)
        var target = store.position(atTime: time)
        // Always move, even across a gap with no events.
        if nanoseconds < 0 && target >= shownPosition { target = shownPosition - 1 }
        if nanoseconds > 0 && target <= shownPosition { target = shownPosition + 1 }
        rewind(to: target)
    }

    /// Steps to just after the previous (or next) chunk dispatch: the moments work is handed out.
    public mutating func step(dispatches forward: Bool) {
        rewind(to: forward ? store.nextDispatch(after: shownPosition) : store.previousDispatch(before: shownPosition))
    }

    /// Changes the live state in place: settings, summary lines, the describer.
    public mutating func update(_ body: (inout MonitorState) -> Void) { body(&live) }
}
