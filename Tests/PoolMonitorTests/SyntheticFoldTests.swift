import PoolMonitor
import PoolTestSupport
import ProcessPool
import Testing

/// Hand-made event sequences for what the recordings do not show: inferred items, retirement,
/// duplicates, lazily queued input, failures, capped histories.
@Suite("Folding edge cases")
struct SyntheticFoldTests {
    /// Builds events with increasing times, one millisecond apart.
    struct Script {
        var events: [PoolEvent] = []
        var time: UInt64 = 0

        mutating func add(_ kind: PoolEvent.Kind) {
            time += 1_000_000
            events.append(PoolEvent(time: time, kind: kind))
        }

        mutating func workers(_ pids: [Int32]) {
            add(.poolResized(from: 0, to: pids.count))
            for (slot, pid) in pids.enumerated() {
                add(.workerStarted(slot: slot, pid: pid))
                add(.workerReady(slot: slot, pid: pid))
            }
        }

        mutating func job(_ id: Int, _ label: String, items: Int, chunksize: Int, mode: JobMode = .map) {
            add(.jobSubmitted(JobDescriptor(id: id, label: label, function: label, itemCount: items, chunksize: chunksize,
                                            chunksizeIsAutomatic: false, mode: mode)))
            let chunks = (items + chunksize - 1) / chunksize
            add(.chunksQueued(job: id, firstChunk: 0, chunks: chunks, start: 0, count: items, queue: QueueDepth(chunks: chunks, items: items)))
        }

        func state() -> MonitorState {
            var state = MonitorState(settings: MonitorSettings(workers: 2))
            state.apply(contentsOf: events)
            return state
        }
    }

    static let idle = QueueDepth(chunks: 0, items: 0)

    @Test("a run of finishes that spans consecutive chunks credits each chunk its part")
    func runAcrossChunks() {
        var script = Script()
        script.workers([100])
        script.job(1, "add", items: 8, chunksize: 2)
        for chunk in 0..<4 {
            script.add(.chunkDispatched(job: 1, chunk: chunk, start: chunk * 2, count: 2, pid: 100, queue: Self.idle))
        }
        // Item 0 alone, then items 1 ..< 7: the end of chunk 0, chunks 1 and 2 whole, the start of chunk 3.
        script.add(.itemFinished(job: 1, index: 0, pid: 100, error: nil, nanoseconds: 10))
        script.add(.itemsFinished(job: 1, start: 1, count: 6, pid: 100, nanoseconds: 60))
        var state = script.state()
        #expect(state.jobs[0].itemsDone == 7)
        #expect(state.jobs[0].chunksDone == 3)
        #expect(state.jobs[0].openChunks == [3])
        #expect(state.workers[0].assignments.map(\.chunk) == [3])
        #expect(state.workers[0].itemsInFlight == 1)
        script.add(.itemsFinished(job: 1, start: 7, count: 1, pid: 100, nanoseconds: 10))
        state = script.state()
        #expect(state.jobs[0].chunksDone == 4)
        #expect(state.workers[0].assignments.isEmpty)
        #expect(state.workers[0].activity == .idle)
    }

    @Test("chunks sent as one run (chunksDispatched) fold as one assignment, finished across its chunks")
    func dispatchRun() {
        var script = Script()
        script.workers([100])
        script.job(1, "add", items: 9, chunksize: 2)
        // Chunks 0-3 (items 0-7) at once, then the last chunk (item 8) alone.
        script.add(.chunksDispatched(job: 1, firstChunk: 0, chunks: 4, start: 0, count: 8, pid: 100,
                                     queue: QueueDepth(chunks: 1, items: 1)))
        script.add(.chunkDispatched(job: 1, chunk: 4, start: 8, count: 1, pid: 100, queue: Self.idle))
        var state = script.state()
        let screen = MonitorScreen().render(state, width: 120, height: 40, now: script.time).lines.joined(separator: "\n")
        #expect(screen.contains("chunks 1–4 (items 1–8) → worker 100"), "the run is one line of the pool events:\n\(screen)")
        #expect(screen.contains("1–2 +4"), "the grid shows the running chunk and the four behind it:\n\(screen)")
        #expect(state.queue == Self.idle)
        #expect(state.workers[0].assignments.count == 2)
        #expect(state.workers[0].chunksInFlight == 5)
        #expect(state.workers[0].itemsInFlight == 9)
        #expect(state.jobs[0].itemsInFlight == 9)
        // Items 0-4 done: chunks 0 and 1 whole, and the first item of chunk 2; the worker is on item 5.
        script.add(.itemsFinished(job: 1, start: 0, count: 5, pid: 100, nanoseconds: 50))
        state = script.state()
        #expect(state.jobs[0].chunksDone == 2)
        #expect(state.workers[0].itemsInFlight == 4)
        #expect(state.workers[0].currentItem?.item == WorkerSlot.ItemRef(job: 1, index: 5))
        script.add(.itemsFinished(job: 1, start: 5, count: 4, pid: 100, nanoseconds: 40))
        state = script.state()
        #expect(state.jobs[0].chunksDone == 5)
        #expect(state.workers[0].assignments.isEmpty)
        #expect(state.workers[0].activity == .idle)
    }

    @Test("a run of whole untouched chunks is credited at once exactly as chunk by chunk would", arguments: [1, 3])
    func wholeChunksAtOnce(chunksize: Int) {
        // The same 600 items finished as two runs (the bulk path: every chunk whole and new),
        // and as single items (the one-by-one path): the job must look the same either way.
        func folded(_ finish: (inout Script) -> Void) -> JobProgress {
            var script = Script()
            script.workers([100])
            script.job(1, "add", items: 600, chunksize: chunksize)
            script.add(.chunksDispatched(job: 1, firstChunk: 0, chunks: 600 / chunksize, start: 0, count: 600, pid: 100,
                                         queue: Self.idle))
            finish(&script)
            return script.state().jobs[0]
        }
        let bulk = folded { script in
            script.add(.itemsFinished(job: 1, start: 0, count: 300, pid: 100, nanoseconds: 300))
            script.add(.itemsFinished(job: 1, start: 300, count: 300, pid: 100, nanoseconds: 300))
        }
        let single = folded { script in
            for index in 0..<600 {
                script.add(.itemFinished(job: 1, index: index, pid: 100, error: nil, nanoseconds: 1))
            }
        }
        #expect(bulk.itemsDone == 600 && single.itemsDone == 600)
        #expect(bulk.chunksDone == 600 / chunksize)
        #expect(bulk.chunksDone == single.chunksDone)
        #expect(bulk.completionOrder == single.completionOrder)
        #expect(bulk.chunkCompletionOrder == single.chunkCompletionOrder)
        #expect(bulk.openChunks == single.openChunks)
        #expect((0..<600).allSatisfy { bulk.isFinished($0) })
        #expect((0..<(600 / chunksize)).allSatisfy { bulk.finishedCount(ofChunk: $0) == chunksize })
        #expect(bulk.itemsInFlight == single.itemsInFlight)
    }

    @Test("without start reports, the current item is inferred from the running chunk")
    func inferredCurrentItem() {
        var script = Script()
        script.workers([100])
        script.job(1, "add", items: 4, chunksize: 4)
        script.add(.chunkDispatched(job: 1, chunk: 0, start: 0, count: 4, pid: 100, queue: Self.idle))
        script.add(.itemFinished(job: 1, index: 0, pid: 100, error: nil, nanoseconds: 10))
        script.add(.itemFinished(job: 1, index: 1, pid: 100, error: nil, nanoseconds: 10))
        let state = script.state()
        let worker = state.workers[0]
        #expect(worker.activity == .busy)
        #expect(worker.currentItem?.item == WorkerSlot.ItemRef(job: 1, index: 2))
        #expect(worker.currentItem?.since == script.time)
        #expect(state.describe(worker.currentItem!.item) == "add[2]")
        #expect(worker.itemsInFlight == 2)
        #expect(state.jobs[0].openChunks == [0])
    }

    @Test("a worker with nothing assigned is idle; starting until ready")
    func idleAndStarting() {
        var script = Script()
        script.add(.workerStarted(slot: 0, pid: 7))
        #expect(script.state().workers[0].activity == .starting)
        script.add(.workerReady(slot: 0, pid: 7))
        #expect(script.state().workers[0].activity == .idle)
        #expect(script.state().workers[0].currentItem == nil)
    }

    @Test("shrinking marks idle workers retiring first, then the highest slots")
    func inferredRetirement() {
        var script = Script()
        script.workers([10, 11, 12])
        script.job(1, "sum", items: 4, chunksize: 1)
        script.add(.chunkDispatched(job: 1, chunk: 0, start: 0, count: 1, pid: 10, queue: Self.idle))
        script.add(.chunkDispatched(job: 1, chunk: 1, start: 1, count: 1, pid: 12, queue: Self.idle))
        script.add(.poolResized(from: 3, to: 2))
        var state = script.state()
        #expect(state.workers.map(\.activity.word) == ["busy", "retiring", "busy"])
        script.add(.poolResized(from: 2, to: 1))
        state = script.state()
        #expect(state.workers.map(\.activity.word) == ["busy", "retiring", "retiring"])
        script.add(.workerExited(slot: 1, pid: 11, termination: .exited(code: 0), reason: .retired))
        state = script.state()
        #expect(state.workers[1].activity == .exited(.exited(code: 0), .retired))
        #expect(state.targetWorkers == 1)
    }

    @Test("a duplicate finish report counts once")
    func duplicateFinish() {
        var script = Script()
        script.workers([1])
        script.job(1, "sum", items: 2, chunksize: 2)
        script.add(.itemFinished(job: 1, index: 0, pid: 1, error: nil, nanoseconds: 1))
        script.add(.itemFinished(job: 1, index: 0, pid: 1, error: nil, nanoseconds: 1))
        let job = script.state().jobs[0]
        #expect(job.itemsDone == 1)
        #expect(job.completionOrder == [0])
        #expect(job.chunksDone == 0)
    }

    @Test("input queued in several runs (lazy imap) maps items to the right chunks")
    func lazilyQueuedRuns() {
        var script = Script()
        script.workers([1])
        script.add(.jobSubmitted(JobDescriptor(id: 1, label: "sq", function: "sq", itemCount: 0, chunksize: 3,
                                               chunksizeIsAutomatic: false, mode: .imap)))
        script.add(.chunksQueued(job: 1, firstChunk: 0, chunks: 2, start: 0, count: 5, queue: QueueDepth(chunks: 2, items: 5)))
        script.add(.chunksQueued(job: 1, firstChunk: 2, chunks: 2, start: 5, count: 6, queue: QueueDepth(chunks: 4, items: 11)))
        for index in [5, 6, 7, 3, 4] { script.add(.itemFinished(job: 1, index: index, pid: 1, error: nil, nanoseconds: 1)) }
        let job = script.state().jobs[0]
        #expect(job.itemCount == 11)
        #expect(job.chunkCount == 4)
        #expect(job.plan.items(ofChunk: 1) == 3..<5)
        #expect(job.plan.items(ofChunk: 2) == 5..<8)
        #expect(job.plan.items(ofChunk: 3) == 8..<11)
        #expect(job.plan.chunk(containing: 10) == 3)
        #expect(job.plan.chunk(containing: 11) == nil)
        #expect(job.chunkCompletionOrder == [2, 1])
    }

    @Test("a job joined late (no chunksQueued seen) is assumed cut into equal chunks")
    func joinedLate() {
        var script = Script()
        script.workers([1])
        script.add(.jobSubmitted(JobDescriptor(id: 1, label: "sum", function: "sum", itemCount: 5, chunksize: 2,
                                               chunksizeIsAutomatic: true, mode: .map)))
        script.add(.itemFinished(job: 1, index: 4, pid: 1, error: nil, nanoseconds: 1))
        script.add(.itemFinished(job: 1, index: 2, pid: 1, error: nil, nanoseconds: 1))
        script.add(.itemFinished(job: 1, index: 3, pid: 1, error: nil, nanoseconds: 1))
        let job = script.state().jobs[0]
        #expect(job.chunkCount == 3)
        #expect(job.chunkCompletionOrder == [2, 1])
        #expect(job.plan.items(ofChunk: 2) == 4..<5)
    }

    @Test("failures are counted, the first kept, and the job's error shown")
    func failures() {
        var script = Script()
        script.workers([1])
        script.job(1, "div", items: 3, chunksize: 3)
        script.add(.itemFinished(job: 1, index: 0, pid: 1, error: nil, nanoseconds: 1))
        script.add(.itemFinished(job: 1, index: 1, pid: 1, error: "division by zero", nanoseconds: 1))
        script.add(.itemFinished(job: 1, index: 2, pid: 1, error: "overflow", nanoseconds: 1))
        script.add(.jobCompleted(job: 1, error: "division by zero"))
        let state = script.state()
        #expect(state.jobs[0].itemsFailed == 2)
        #expect(state.jobs[0].firstItemError == "division by zero")
        #expect(state.workers[0].itemsFailed == 2)
        let text = MonitorScreen().render(state, width: 80, height: 24, now: script.time).lines.joined(separator: "\n")
        #expect(text.contains("✗ 2 failed"))
        #expect(text.contains("✗ failed: division by zero"))
        #expect(text.contains("nothing: the job failed"))
    }

    @Test("worker output and faults go to a capped log, newest kept")
    func cappedLog() {
        var state = MonitorState()
        for line in 0..<(MonitorState.logCapacity + 100) {
            state.apply(PoolEvent(time: UInt64(line), kind: .workerOutput(pid: 5, line: "line \(line)")))
        }
        state.apply(PoolEvent(time: 10_000, kind: .workerFault(pid: 6, message: "bad frame")))
        #expect(state.log.count == MonitorState.logCapacity)
        #expect(state.log.last == MonitorState.LogLine(time: 10_000, pid: 6, text: "bad frame", isFault: true))
        #expect(state.log[0].text == "line 101")
        #expect(state.faults == 1)
    }

    @Test("dropped events are counted and the screen warns about them")
    func droppedEvents() {
        var state = MonitorState()
        state.apply(PoolEvent(time: 1, kind: .eventsDropped(count: 12)))
        state.apply(PoolEvent(time: 2, kind: .eventsDropped(count: 3)))
        #expect(state.droppedEvents == 15)
        let text = MonitorScreen().render(state, width: 80, height: 24, now: 2).lines.joined(separator: "\n")
        #expect(text.contains("⚠ 15 events dropped"))
    }

    @Test("task-stream letters: the label's first letter, another when it is taken")
    func streamLetters() {
        var script = Script()
        script.job(1, "sum", items: 1, chunksize: 1)
        script.job(2, "product", items: 1, chunksize: 1)
        script.job(3, "square", items: 1, chunksize: 1)
        script.job(4, "sum", items: 1, chunksize: 1)
        #expect(script.state().jobs.map(\.letter) == ["s", "p", "q", "s"])
    }

    @Test("a terminated pool says so, and its clock stops")
    func terminated() {
        var script = Script()
        script.workers([1])
        script.add(.poolStateChanged(.terminated))
        let stoppedAt = script.time
        script.add(.poolStateChanged(.finished))
        let state = script.state()
        #expect(state.phase == .terminated)
        #expect(state.elapsed(now: 99_000_000_000) == stoppedAt)
    }

    @Test("replay ticks on a fixed grid of event time")
    func replayTicks() {
        var state = MonitorState()
        let events = [1, 250, 260, 610].map { PoolEvent(time: UInt64($0) * 1_000_000, kind: .eventsDropped(count: 0)) }
        state.replay(events, tickEvery: 100_000_000)
        #expect(state.tickTimes.elements == [100, 200, 300, 400, 500, 600].map { UInt64($0) * 1_000_000 })
    }

    @Test("a recent history keeps the newest elements in order")
    func recentHistory() {
        var history = RecentHistory<Int>(capacity: 3)
        #expect(history.isEmpty && history.last == nil)
        for value in 1...5 { history.append(value) }
        #expect(history.elements == [3, 4, 5])
        #expect(history.suffix(2) == [4, 5])
        #expect(history.suffix(10) == [3, 4, 5])
        #expect(history.last == 5)
    }

    @Test("recent runs keep what a ring of single values would, for runs of any length, contiguous or not",
          arguments: [1, 3, 4, 7, 64])
    func recentRunsMatchSingleValues(capacity: Int) {
        var generator = SeededGenerator(state: UInt64(capacity))
        var each = RecentHistory<Int>(capacity: capacity)
        var runs = RecentRuns(capacity: capacity)
        var next = 0
        for step in 0..<2_000 {
            // Mostly runs that follow on from the last (merged), sometimes a jump, sometimes one value.
            if Int.random(in: 0..<4, using: &generator) == 0 { next += Int.random(in: 1...50, using: &generator) }
            let length = Int.random(in: 0...(2 * capacity + 2), using: &generator)
            let run = next..<(next + length)
            if length == 1 && step % 2 == 0 { runs.append(next) } else { runs.append(contentsOf: run) }
            for value in run { each.append(value) }
            next = run.upperBound
            #expect(runs.elements == each.elements, "step \(step), run \(run)")
            #expect(runs.count == each.count && runs.last == each.last)
            #expect(Array(runs.newestFirst) == each.elements.reversed())
            #expect(runs.runCount <= capacity)
        }
    }

    @Test("a job at chunk size 1 needs no per-chunk table, and its runs read as its items one at a time")
    func oneItemChunksFromBits() {
        let items = 5_000
        func folded(_ finish: (inout Script) -> Void) -> JobProgress {
            var script = Script()
            script.workers([100])
            script.job(1, "add", items: items, chunksize: 1)
            finish(&script)
            return script.state().jobs[0]
        }
        // Runs of 97 items as a worker reports them, the second half of each run first (so that
        // runs do not always follow on from the one before).
        func halves() -> [Range<Int>] {
            stride(from: 0, to: items, by: 97).flatMap { start -> [Range<Int>] in
                let end = min(start + 97, items), middle = start + (end - start) / 2
                return [middle..<end, start..<middle].filter { !$0.isEmpty }
            }
        }
        let bulk = folded { script in
            for run in halves() {
                script.add(.itemsFinished(job: 1, start: run.lowerBound, count: run.count, pid: 100, nanoseconds: 97))
            }
        }
        let single = folded { script in
            for index in halves().joined() {
                script.add(.itemFinished(job: 1, index: index, pid: 100, error: nil, nanoseconds: 1))
            }
        }
        for job in [bulk, single] {
            #expect(job.itemsDone == items && job.chunksDone == items)
            #expect(job.completionOrder.count == JobProgress.historyLimit)
            #expect((0..<items).allSatisfy { job.finishedCount(ofChunk: $0) == 1 })
            // No chunk table: one-item chunks are counted by their items' bits.
            #expect(job.trackedCapacity.chunks == 0)
            #expect(job.openChunks.isEmpty)
        }
        #expect(bulk.completionOrder == single.completionOrder)
        #expect(bulk.chunkCompletionOrder == single.chunkCompletionOrder)
        #expect(bulk.completionOrder.last == halves().last?.last)
    }
}
