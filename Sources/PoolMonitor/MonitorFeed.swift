import ProcessPool

/// The live state plus, while paused, the frozen copy the screen shows.
///
/// Pausing must not lose events (the engine keeps going, and the stream must be drained), so
/// events always fold into ``live``; pausing keeps a copy of it as it was. The copy is a value
/// that shares storage with the live state until the live state next changes (copy on write), so
/// pausing costs one copy of the changed tables, once.
public struct MonitorFeed: Sendable {
    public private(set) var live: MonitorState
    /// The view as it was when paused; nil while running.
    public private(set) var frozen: MonitorState?

    public init(_ state: MonitorState) {
        live = state
    }

    public var isPaused: Bool { frozen != nil }

    /// Events folded into the live state since the pause (0 while not paused).
    public var eventsSincePause: Int {
        frozen.map { live.eventCount - $0.eventCount } ?? 0
    }

    /// What to render: the live state, or the frozen one marked "PAUSED +N events".
    public var shown: MonitorState {
        guard var frozen else { return live }
        frozen.freeze?.eventsBehind = eventsSincePause
        // Settings and totals belong to the app, not to the moment of the pause: keep them live
        // so that a key pressed while paused shows its effect.
        frozen.settings = live.settings
        frozen.pendingSettings = live.pendingSettings
        frozen.summaryLines = live.summaryLines
        frozen.watched = live.watched
        // What the processes use now is the system's, not the paused run's: keep it live too.
        frozen.resources = live.resources
        return frozen
    }

    public mutating func apply(_ event: PoolEvent) { live.apply(event) }

    public mutating func tick(now: UInt64) { live.tick(now: now) }

    /// Pauses (freezing the view at `now`, in event time) or resumes.
    public mutating func togglePause(now: UInt64) {
        if frozen != nil {
            frozen = nil
        } else {
            var copy = live
            copy.freeze = MonitorState.Freeze(at: live.displayTime(now), eventsBehind: 0)
            frozen = copy
        }
    }

    /// Changes the live state in place: settings, summary lines, the describer.
    public mutating func update(_ body: (inout MonitorState) -> Void) { body(&live) }
}
