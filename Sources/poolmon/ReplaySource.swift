import Foundation
import ProcessPool
import Synchronization

/// Plays a recorded event log into the monitor at its original pace (times `speed`).
///
/// A log can hold several runs (`watch --events` records every run the monitor makes): each is
/// played from a fresh screen, after the previous run's end has stayed on screen for
/// ``pauseBetweenRuns`` (divided by `speed`).
final class ReplaySource: MonitorSource {
    static let pauseBetweenRuns: Double = 2

    private struct State {
        /// Bumped by every start and stop: a playing task whose generation is gone stops.
        var generation = 0
        /// Runs posted to the monitor so far (ids of `runStarted`).
        var runs = 0
        /// Playback speed now, and the clock of the run being played: event time `anchorTime`
        /// was due at wall time `anchorWall` (rebased whenever the speed changes).
        var speed: Double
        var anchorWall: UInt64 = 0
        var anchorTime: UInt64 = 0
    }

    /// Speeds `*` and `/` step through.
    static let speedRange: ClosedRange<Double> = 1.0 / 64...1024

    private let events: [PoolEvent]
    private let name: String
    private let inbox: MonitorInbox
    private let state: Mutex<State>
    let isLive = false

    init(events: [PoolEvent], speed: Double, name: String, inbox: MonitorInbox) {
        self.events = events
        state = Mutex(State(speed: speed))
        self.name = name
        self.inbox = inbox
    }

    func start(_: RunSettings) {
        let generation = state.withLock { state in
            state.generation += 1
            return state.generation
        }
        Task.detached { await self.play(generation: generation) }
    }

    func resize(workers: Int) {}
    func kill(pid: Int32) {}

    func stop() { state.withLock { $0.generation += 1 } }

    var replaySpeed: Double? { state.withLock { $0.speed } }

    /// Rebases the run's clock at the event time now due, so that playback goes on from here at
    /// the new speed, and tells the monitor (its clock follows the same line).
    func setSpeed(_ speed: Double) -> Double? {
        let speed = min(max(speed, Self.speedRange.lowerBound), Self.speedRange.upperBound)
        let (run, origin) = state.withLock { state -> (Int, UInt64) in
            let now = EventClock.now()
            let time = state.anchorTime &+ UInt64(Double(now &- min(now, state.anchorWall)) * state.speed)
            state.anchorWall = now
            state.anchorTime = time
            state.speed = speed
            return (state.runs, now &- UInt64(Double(time) / speed))
        }
        inbox.post(.clockChanged(run: run, origin: origin, timeScale: speed))
        return speed
    }

    /// The wall time event time `time` is due, on the current clock.
    private func due(_ time: UInt64) -> UInt64 {
        state.withLock { state in
            state.anchorWall &+ UInt64(Double(time &- min(time, state.anchorTime)) / state.speed)
        }
    }

    private func isCurrent(_ generation: Int) -> Bool { state.withLock { $0.generation == generation } }

    private func play(generation: Int) async {
        let runs = PoolEvent.runs(in: events)
        var run = 0
        for (number, events) in runs.enumerated() {
            if number > 0 {
                inbox.post(.summary(run: run, ["run \(number) of \(runs.count) in \(name) ended"]))
                let speed = state.withLock { $0.speed }
                try? await Task.sleep(nanoseconds: UInt64(Self.pauseBetweenRuns / speed * 1e9))
                guard isCurrent(generation) else { return }
            }
            let origin = EventClock.now()
            let speed: Double
            (run, speed) = state.withLock { state in
                state.runs += 1
                state.anchorWall = origin
                state.anchorTime = 0
                return (state.runs, state.speed)
            }
            inbox.post(.runStarted(run: run, origin: origin, timeScale: speed))
            for event in events {
                // Sleep in slices of at most 100 ms, so that a change of speed applies at once.
                while true {
                    let due = due(event.time)
                    let now = EventClock.now()
                    guard due > now + 1_000_000 else { break }
                    try? await Task.sleep(nanoseconds: min(due - now, 100_000_000))
                    guard isCurrent(generation) else { return }
                }
                guard isCurrent(generation) else { return }
                inbox.post(.events(run: run, [event]))
            }
        }
        // The counts before the file name, which may be long enough to be cut off.
        let summary = runs.count > 1 ? "replay of \(runs.count) runs (\(events.count) events): \(name)"
            : "replay of \(name): \(events.count) events"
        inbox.post(.runFinished(run: run, summary: [summary]))
    }
}
