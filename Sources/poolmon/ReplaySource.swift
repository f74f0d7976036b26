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
    }

    private let events: [PoolEvent]
    private let speed: Double
    private let name: String
    private let inbox: MonitorInbox
    private let state = Mutex(State())
    let isLive = false

    init(events: [PoolEvent], speed: Double, name: String, inbox: MonitorInbox) {
        self.events = events
        self.speed = speed
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

    private func isCurrent(_ generation: Int) -> Bool { state.withLock { $0.generation == generation } }

    private func play(generation: Int) async {
        let runs = PoolEvent.runs(in: events)
        var run = 0
        for (number, events) in runs.enumerated() {
            if number > 0 {
                inbox.post(.summary(run: run, ["run \(number) of \(runs.count) in \(name) ended"]))
                try? await Task.sleep(nanoseconds: UInt64(Self.pauseBetweenRuns / speed * 1e9))
                guard isCurrent(generation) else { return }
            }
            run = state.withLock { state in
                state.runs += 1
                return state.runs
            }
            let origin = EventClock.now()
            inbox.post(.runStarted(run: run, origin: origin, timeScale: speed))
            for event in events {
                let due = origin + UInt64(Double(event.time) / speed)
                let now = EventClock.now()
                // Sleep only for gaps worth it; events closer together go out in one batch.
                if due > now + 1_000_000 { try? await Task.sleep(nanoseconds: due - now) }
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
