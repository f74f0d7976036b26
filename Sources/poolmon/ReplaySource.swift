import Foundation
import ProcessPool
import Synchronization

/// Plays a recorded event log into the monitor at its original pace (times `speed`).
final class ReplaySource: MonitorSource {
    private let events: [PoolEvent]
    private let speed: Double
    private let name: String
    private let inbox: MonitorInbox
    private let run = Mutex(0)
    let isLive = false

    init(events: [PoolEvent], speed: Double, name: String, inbox: MonitorInbox) {
        self.events = events
        self.speed = speed
        self.name = name
        self.inbox = inbox
    }

    func start(_: RunSettings) {
        let current = run.withLock { value in
            value += 1
            return value
        }
        Task.detached { await self.play(run: current) }
    }

    func resize(workers: Int) {}
    func kill(pid: Int32) {}

    func stop() { run.withLock { $0 += 1 } }

    private func play(run current: Int) async {
        let origin = EventClock.now()
        inbox.post(.runStarted(run: current, origin: origin, timeScale: speed))
        for event in events {
            let due = origin + UInt64(Double(event.time) / speed)
            let now = EventClock.now()
            // Sleep only for gaps worth it; events closer together go out in one batch.
            if due > now + 1_000_000 { try? await Task.sleep(nanoseconds: due - now) }
            guard run.withLock({ $0 }) == current else { return }
            inbox.post(.events(run: current, [event]))
        }
        inbox.post(.runFinished(run: current, summary: ["replay of \(name): \(events.count) events"]))
    }
}
