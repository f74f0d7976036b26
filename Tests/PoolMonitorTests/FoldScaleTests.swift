import PoolMonitor
import ProcessPool
import Testing

/// Sanity at scale: a million events fold in linear time and a frame still draws from the tail.
/// No timing assertions: an O(n²) fold would not finish, which is what this guards against.
@Suite("Folding at scale")
struct FoldScaleTests {
    @Test("a million itemFinished events fold, and the screen shows the newest chunks")
    func millionItems() {
        let items = 1_000_000
        let chunksize = 10
        var state = MonitorState(settings: MonitorSettings(workers: 2))
        var time: UInt64 = 0
        func apply(_ kind: PoolEvent.Kind) {
            time += 1000
            state.apply(PoolEvent(time: time, kind: kind))
        }
        apply(.poolResized(from: 0, to: 2))
        apply(.workerStarted(slot: 0, pid: 1))
        apply(.workerStarted(slot: 1, pid: 2))
        apply(.jobSubmitted(JobDescriptor(id: 1, label: "add", function: "add", itemCount: items, chunksize: chunksize,
                                          chunksizeIsAutomatic: false, mode: .imapUnordered)))
        apply(.chunksQueued(job: 1, firstChunk: 0, chunks: items / chunksize, start: 0, count: items,
                            queue: QueueDepth(chunks: items / chunksize, items: items)))
        for index in 0..<items {
            apply(.itemFinished(job: 1, index: index, pid: index / chunksize % 2 == 0 ? 1 : 2, error: nil, nanoseconds: 100))
            if index % 10_000 == 0 { state.tick(now: time) }
        }
        let job = state.jobs[0]
        #expect(job.itemsDone == items)
        #expect(job.chunksDone == items / chunksize)
        #expect(job.completionOrder.count == JobProgress.historyLimit)
        #expect(job.completionOrder.last == items - 1)
        #expect(state.workers.map(\.itemsDone) == [items / 2, items / 2])
        #expect(state.eventCount == items + 5)

        let lines = MonitorScreen().render(state, width: 120, height: 40, now: time).lines
        let strip = lines.first { $0.contains("finished") } ?? ""
        #expect(strip.contains("… │ "))
        #expect(strip.contains("999981–999990 │ 999991–1000000 "))
    }
}
