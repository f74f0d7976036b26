/// The clock of ``PoolEvent/time``: CLOCK_MONOTONIC nanoseconds, counted from the pool's creation.
public enum EventClock {
    /// CLOCK_MONOTONIC now, in nanoseconds (the same clock the events use).
    public static func now() -> UInt64 { MonotonicClock.nanoseconds() }
}

extension ProcessPool {
    /// The CLOCK_MONOTONIC reading (``EventClock/now()``) at which this pool's event time is 0:
    /// `EventClock.now() - eventClockOrigin` is "now" on its events' time line.
    public var eventClockOrigin: UInt64 { shared.events.origin }
}
