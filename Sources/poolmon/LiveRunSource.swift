import Dispatch
import Foundation
import Glibc
import ProcessPool
import Synchronization

/// Runs the tutorial on a real pool for the monitor, again whenever asked.
///
/// With an event log (`watch --events`), every run's events go into the one open log, a run's
/// after the one before it: `r` and `--loop` add runs to the file rather than replacing it.
final class LiveRunSource: MonitorSource {
    private struct State {
        var run = 0
        var pool: ProcessPool?
        /// The task copying the latest run's events to the inbox and the log.
        var recording: Task<Void, Never>?
        /// A worker count asked for between `start` and the pool's creation (a key pressed
        /// right after `r`): applied as soon as the pool exists, so the press is not lost.
        var pendingWorkers: Int?
    }

    private let state = Mutex(State())
    private let inbox: MonitorInbox
    private let eventLog: EventLogWriter?
    /// Entered by each run's recording task, left when it has handed over its last event:
    /// ``stop()`` waits on it so that a stopped run's log is complete.
    private let recordings = DispatchGroup()
    let isLive = true

    init(inbox: MonitorInbox, eventLog: EventLogWriter?) {
        self.inbox = inbox
        self.eventLog = eventLog
    }

    func start(_ settings: RunSettings) {
        let (run, previous) = state.withLock { state in
            state.run += 1
            state.pendingWorkers = nil
            defer { state.pool = nil }
            return (state.run, state.pool)
        }
        previous?.terminate()
        Task.detached { await self.execute(run: run, settings) }
    }

    func resize(workers: Int) {
        let pool = state.withLock { state -> ProcessPool? in
            if state.pool == nil { state.pendingWorkers = workers }
            return state.pool
        }
        try? pool?.resize(workers: workers)
    }

    func kill(pid: Int32) {
        // Through the pool: only ever a worker of our own pool, never whatever process reuses a
        // stale PID, and the kill is not held against the item the worker was running.
        guard let pool = state.withLock({ $0.pool }) else { return }
        try? pool.signalWorker(pid: pid, signal: SIGKILL)
    }

    func signal(pid: Int32, _ signal: Int32) {
        // Through the pool, as `kill`: only ever a current worker of our own pool.
        guard let pool = state.withLock({ $0.pool }) else { return }
        try? pool.signalWorker(pid: pid, signal: signal)
    }

    func rechunk(job: Int, chunksize: Int) {
        guard let pool = state.withLock({ $0.pool }) else { return }
        try? pool.rechunk(job: job, chunksize: chunksize)
    }

    func signalWorkers(_ signal: Int32) {
        guard let pool = state.withLock({ $0.pool }) else { return }
        let pids = pool.workerPIDs
        for pid in pids { try? pool.signalWorker(pid: pid, signal: signal) }
        if signal == SIGSTOP || signal == SIGCONT { confirm(signal, reached: pids, of: pool) }
    }

    /// Ctrl-Z and `fg`: waits (at most a second) until every worker shows as stopped (SIGSTOP)
    /// or running again (SIGCONT) in `/proc`, sending the signal again every 50 ms to any that
    /// does not, before the monitor stops itself or goes on.
    ///
    /// Why: in a few of many runs (CI, sessions 4, 8 and 9) one of two workers was still
    /// running 20 s after the monitor stopped, the other stopped. The cause was not found (the
    /// signal goes through the worker's pidfd, on the IO thread, with a reply); a worker left
    /// running under a stopped monitor, or stopped under a running one, is what a user must
    /// never see, so the signal's effect is checked rather than assumed. A worker that exits
    /// meanwhile is done with.
    private func confirm(_ signal: Int32, reached pids: [Int32], of pool: ProcessPool) {
        let deadline = EventClock.now() &+ 1_000_000_000
        var waiting = pids
        while !waiting.isEmpty {
            waiting.removeAll { pid in
                guard let state = WorkerResourceSampler.state(of: pid), state != "Z" && state != "X" else { return true }
                return WorkerResourceSampler.isStopped(state) == (signal == SIGSTOP)
            }
            guard !waiting.isEmpty, EventClock.now() < deadline else { return }
            var pause = timespec(tv_sec: 0, tv_nsec: 50_000_000)
            nanosleep(&pause, nil)
            for pid in waiting { try? pool.signalWorker(pid: pid, signal: signal) }
        }
    }

    /// Stops the run, and with a log, waits (boundedly: a FIFO's reader may have stopped
    /// reading) until every event the pool emitted is written.
    func stop() {
        let pool = state.withLock { state in
            state.run += 1
            defer { state.pool = nil }
            return state.pool
        }
        pool?.terminate()
        guard let eventLog else { return }
        _ = recordings.wait(timeout: .now() + 10)
        eventLog.waitUntilWritten(timeout: .seconds(10))
    }

    private func execute(run: Int, _ settings: RunSettings) async {
        do {
            // Worker output goes to the monitor's log pane, never over the screen.
            let pool = try ProcessPool(configuration: DemoRun.poolConfiguration(settings, captureOutput: true))
            let current = state.withLock { state -> (Bool, Int?) in
                guard state.run == run else { return (false, nil) }
                state.pool = pool
                defer { state.pendingWorkers = nil }
                return (true, state.pendingWorkers)
            }
            guard current.0 else {
                pool.terminate()
                return
            }
            inbox.post(.runStarted(run: run, origin: pool.eventClockOrigin, timeScale: 1))
            let batches = pool.eventBatches(bufferingLimit: 1 << 20)
            let (inbox, eventLog, recordings) = (self.inbox, self.eventLog, self.recordings)
            recordings.enter()
            state.withLock { state in
                let previous = state.recording
                state.recording = Task {
                    // The previous run's pool is already terminated; its last events go first.
                    await previous?.value
                    for await batch in batches {
                        inbox.post(.events(run: run, batch))
                        eventLog?.append(batch)
                    }
                    recordings.leave()
                }
            }
            // After the subscription, so that the monitor sees the resize's event.
            if let workers = current.1, workers != settings.workers { try? pool.resize(workers: workers) }
            let results = try await DemoRun.run(on: pool, settings)
            inbox.post(.runFinished(run: run, summary: [DemoRun.totalLine("sum", results.sums),
                                                        DemoRun.totalLine("product", results.products)]))
            pool.close()
            try await pool.join()
        } catch {
            inbox.post(.runFailed(run: run, message: "\(error)"))
        }
    }
}
