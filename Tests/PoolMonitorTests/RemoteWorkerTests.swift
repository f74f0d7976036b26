import PoolMonitor
import ProcessPool
import Testing

/// Workers started through ssh or srun: their rows show `host:pid`, local ones the PID alone.
@Suite("Remote workers in the monitor")
struct RemoteWorkerTests {
    func state(_ kinds: [PoolEvent.Kind]) -> MonitorState {
        var state = MonitorState(settings: MonitorSettings(workers: 2))
        for (offset, kind) in kinds.enumerated() { state.apply(PoolEvent(time: UInt64(offset + 1) * 1_000_000, kind: kind)) }
        return state
    }

    @Test("a worker's host from workerStarted labels its row host:pid; a replacement takes its own host")
    func labels() {
        let folded = state([
            .poolResized(from: 0, to: 2),
            .workerStarted(slot: 0, pid: 4242, host: "node1"),
            .workerStarted(slot: 1, pid: 77),
            .workerExited(slot: 0, pid: 4242, termination: .exited(code: 255), reason: .crashed),
            .workerStarted(slot: 0, pid: 5151, host: "node2"),
        ])
        #expect(folded.workers.map(\.label) == ["node2:5151", "77"])
    }

    @Test("the worker grid widens its PID column to host:pid and names it so; local grids are unchanged")
    func grid() {
        let remote = state([.poolResized(from: 0, to: 2), .workerStarted(slot: 0, pid: 4242, host: "node1.example"),
                            .workerReady(slot: 0, pid: 4242), .workerStarted(slot: 1, pid: 4243, host: "node2")])
        let text = MonitorScreen().render(remote, width: 100, height: 30, now: 10_000_000).lines.joined(separator: "\n")
        #expect(text.contains("host:PID"))
        #expect(text.contains("node1.example:4242"))
        #expect(text.contains("node2:4243"))
        let local = state([.poolResized(from: 0, to: 1), .workerStarted(slot: 0, pid: 4242)])
        let plain = MonitorScreen().render(local, width: 100, height: 30, now: 10_000_000).lines.joined(separator: "\n")
        #expect(!plain.contains("host:PID"))
    }

    @Test("sorting by host groups the workers of each machine (local ones first), slot order within a host")
    func sortByHost() {
        let folded = state([
            .poolResized(from: 0, to: 4),
            .workerStarted(slot: 0, pid: 11, host: "node2"),
            .workerStarted(slot: 1, pid: 12, host: "node1"),
            .workerStarted(slot: 2, pid: 13),
            .workerStarted(slot: 3, pid: 14, host: "node1"),
        ])
        var ui = MonitorUIState()
        while ui.sort != .host { _ = ui.handle(.sortNext, in: folded) }
        #expect(ui.orderedWorkers(in: folded).map(\.label) == ["13", "node1:12", "node1:14", "node2:11"])
        let text = MonitorScreen().render(folded, ui: ui, width: 100, height: 30, now: 10_000_000).lines.joined(separator: "\n")
        #expect(text.contains("host▼:PID"), "the grid's header says what it is sorted by:\n\(text)")
    }
}
