import Foundation
import ProcessPool
import Synchronization

/// A log that another process is still writing (`poolmon replay --follow`), shown as it grows.
///
/// What is in the file already is folded at once (only its last run: earlier ones would be
/// replaced on screen straight away); then the file is polled every ``pollInterval`` and new
/// events are folded as they arrive, at the pace their writer flushes them. Each new run in
/// the log (see ``PoolEvent/beginsNewRun(after:)``) starts on a fresh screen. A log that has not
/// ended shows a running clock: its time line is set from the last event and how long ago the
/// file last changed.
final class FollowedLogSource: MonitorSource {
    static let pollInterval: Duration = .milliseconds(50)

    private struct State {
        /// Bumped by every start and stop: a following task whose generation is gone stops.
        var generation = 0
        /// Runs posted to the monitor so far (ids of `runStarted`).
        var runs = 0
    }

    private let path: String
    private let inbox: MonitorInbox
    private let state = Mutex(State())
    let isLive = false

    init(path: String, inbox: MonitorInbox) {
        self.path = path
        self.inbox = inbox
    }

    func start(_: RunSettings) {
        let generation = state.withLock { state in
            state.generation += 1
            return state.generation
        }
        Task.detached { await self.follow(generation: generation) }
    }

    func resize(workers: Int) {}
    func kill(pid: Int32) {}

    func stop() { state.withLock { $0.generation += 1 } }

    private func isCurrent(_ generation: Int) -> Bool { state.withLock { $0.generation == generation } }

    /// Announces a new run whose event time `time` is now (or `age` ago); returns its id.
    private func startRun(at time: UInt64, age: UInt64 = 0) -> Int {
        let run = state.withLock { state in
            state.runs += 1
            return state.runs
        }
        let now = EventClock.now()
        inbox.post(.runStarted(run: run, origin: now - min(now, time &+ age), timeScale: 1))
        inbox.post(.summary(run: run, ["following \(path)"]))
        return run
    }

    private func follow(generation: Int) async {
        let follower: EventLogFollower
        var update: EventLogFollower.Update
        do {
            // Opened again on each start (`r`): the file is read from its beginning.
            follower = try EventLogFollower(path: path)
            update = try follower.readAvailable()
        } catch {
            inbox.post(.sessionFailed(error))
            return
        }
        var run = 0
        var previous: PoolEvent?
        if let last = PoolEvent.runs(in: update.events).last, let lastEvent = last.last {
            run = startRun(at: lastEvent.time, age: follower.timeSinceLastChange)
            inbox.post(.events(run: run, Array(last)))
            previous = lastEvent
        } else {
            run = startRun(at: 0)  // nothing yet: say what we wait for
        }
        while true {
            try? await Task.sleep(for: Self.pollInterval)
            guard isCurrent(generation) else { return }
            do {
                update = try follower.readAvailable()
            } catch {
                inbox.post(.sessionFailed(error))
                return
            }
            if update.restarted { previous = nil }
            var batch: [PoolEvent] = []
            for event in update.events {
                if previous.map({ event.beginsNewRun(after: $0) }) ?? true {
                    if !batch.isEmpty { inbox.post(.events(run: run, batch)) }
                    batch = []
                    run = startRun(at: event.time)
                }
                batch.append(event)
                previous = event
            }
            if !batch.isEmpty { inbox.post(.events(run: run, batch)) }
        }
    }
}
