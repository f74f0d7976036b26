import Foundation
import Glibc
import ProcessPool
import Synchronization

/// Runs the tutorial on a real pool for the monitor, again whenever asked.
final class LiveRunSource: MonitorSource {
    private struct State {
        var run = 0
        var pool: ProcessPool?
    }

    private let state = Mutex(State())
    private let inbox: MonitorInbox
    private let eventLogPath: String?
    let isLive = true

    init(inbox: MonitorInbox, eventLogPath: String?) {
        self.inbox = inbox
        self.eventLogPath = eventLogPath
    }

    func start(_ settings: RunSettings) {
        let (run, previous) = state.withLock { state in
            state.run += 1
            defer { state.pool = nil }
            return (state.run, state.pool)
        }
        previous?.terminate()
        Task.detached { await self.execute(run: run, settings) }
    }

    func resize(workers: Int) {
        let pool = state.withLock { $0.pool }
        try? pool?.resize(workers: workers)
    }

    func kill(pid: Int32) {
        // Through the pool: only ever a worker of our own pool, never whatever process reuses a
        // stale PID, and the kill is not held against the item the worker was running.
        guard let pool = state.withLock({ $0.pool }) else { return }
        try? pool.signalWorker(pid: pid, signal: SIGKILL)
    }

    func stop() {
        let pool = state.withLock { state in
            state.run += 1
            defer { state.pool = nil }
            return state.pool
        }
        pool?.terminate()
    }

    private func execute(run: Int, _ settings: RunSettings) async {
        do {
            // Worker output goes to the monitor's log pane, never over the screen.
            let pool = try ProcessPool(configuration: DemoRun.poolConfiguration(settings, captureOutput: true))
            let current = state.withLock { state -> Bool in
                guard state.run == run else { return false }
                state.pool = pool
                return true
            }
            guard current else {
                pool.terminate()
                return
            }
            inbox.post(.runStarted(run: run, origin: pool.eventClockOrigin, timeScale: 1))
            let recorder = try eventLogPath.map { try EventRecorder(path: $0) }
            let batches = pool.eventBatches(bufferingLimit: 1 << 20)
            let inbox = self.inbox
            let pump = Task {
                for await batch in batches {
                    inbox.post(.events(run: run, batch))
                    for event in batch { recorder?.append(event) }
                }
                try? recorder?.finish(dropped: 0)
            }
            let results = try await DemoRun.run(on: pool, settings)
            inbox.post(.runFinished(run: run, summary: [DemoRun.totalLine("sum", results.sums),
                                                        DemoRun.totalLine("product", results.products)]))
            pool.close()
            try pool.join()
            await pump.value
        } catch {
            inbox.post(.runFailed(run: run, message: "\(error)"))
        }
    }
}
