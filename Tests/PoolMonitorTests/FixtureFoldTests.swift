import PoolMonitor
import ProcessPool
import Testing

/// Recorded runs folded into `MonitorState`: what the monitor believes after (part of) a real run.
@Suite("Folding recorded runs")
struct FixtureFoldTests {
    @Test("every fixture parses and folds, counting every event")
    func everyFixtureFolds() throws {
        for fixture in Fixture.allCases {
            let events = try fixture.events
            let state = try fixture.state()
            #expect(state.eventCount == events.count, "\(fixture)")
            #expect(state.phase == .finished, "\(fixture)")
            #expect(state.jobs.map(\.itemsDone) == [fixture.itemCount, fixture.itemCount], "\(fixture)")
            #expect(state.jobs.allSatisfy { $0.isComplete && $0.itemsFailed == 0 }, "\(fixture)")
            #expect(state.queue == QueueDepth(chunks: 0, items: 0), "\(fixture)")
        }
    }

    @Test("the tutorial: both jobs 10/10 in 5/5 chunks of 2, workers exited when the pool closed")
    func tutorialFinished() throws {
        let state = try Fixture.mapAsync.state()
        let sum = try #require(state.jobs.first)
        let product = try #require(state.jobs.last)
        #expect(sum.label == "sum" && product.label == "product")
        for job in [sum, product] {
            #expect(job.itemsDone == 10)
            #expect(job.itemCount == 10)
            #expect(job.chunksDone == 5)
            #expect(job.chunkCount == 5)
            #expect(job.itemsDelivered == 10)
            #expect(job.deliveries == [0..<10])
            #expect(job.descriptor.chunksizeIsAutomatic)
            // Chunk boundaries of 2: every chunk holds two consecutive items.
            for chunk in 0..<5 { #expect(job.plan.items(ofChunk: chunk) == (chunk * 2)..<(chunk * 2 + 2)) }
        }
        // Item order as the workers finished them, and the same at chunk granularity.
        #expect(sum.completionOrder == [0, 2, 1, 3, 4, 6, 5, 7, 8, 9])
        #expect(sum.chunkCompletionOrder == [0, 1, 2, 3, 4])
        #expect(product.chunkCompletionOrder == [0, 1, 2, 4, 3])
        #expect(sum.openChunks.isEmpty && product.openChunks.isEmpty)

        #expect(state.workers.count == 2)
        for worker in state.workers {
            #expect(worker.activity == .exited(.exited(code: 0), .poolClosed))
            #expect(worker.itemsDone == 10)
            #expect(worker.assignments.isEmpty)
        }
        #expect(state.exitsByReason == [.poolClosed: 2])
        #expect(state.liveWorkerCount == 0)
        #expect(state.targetWorkers == 2)
        #expect(state.retries == 0)
        #expect(state.finishedAt == .seconds(2.021468538))
        #expect(state.elapsed(now: .seconds(99)) == .seconds(2.021468538))
    }

    @Test("the completion strip shows chunk boundaries, product's last two chunks out of order")
    func completionStripOnScreen() throws {
        let state = try Fixture.mapAsync.state()
        let text = MonitorScreen().render(state, width: 80, height: 24, now: 0).lines.joined(separator: "\n")
        #expect(text.contains("sum     finished   1 2 │ 3 4 │ 5 6 │ 7 8 │ 9 10"))
        #expect(text.contains("product finished   1 2 │ 3 4 │ 5 6 │ 9 10 │ 7 8"))
    }

    @Test("mid-run: busy workers show the task the tutorial would print")
    func midRunTasks() throws {
        let early = try Fixture.mapAsync.state(until: .seconds(0.3))
        #expect(early.workers.map(\.activity) == [.busy, .busy])
        #expect(early.workers.compactMap { $0.currentItem.map { early.describe($0.item) } } == ["sum(2,12)", "sum(4,14)"])
        #expect(early.workers.map(\.itemsDone) == [1, 1])
        #expect(early.jobs[0].openChunks == [0, 1])
        #expect(early.phase == .running)

        let later = try Fixture.mapAsync.state(until: .seconds(1.35))
        #expect(later.workers.compactMap { $0.currentItem.map { later.describe($0.item) } } == ["product(3,13)", "product(5,15)"])
        #expect(later.workers.compactMap { $0.currentItem?.since } == [1_215_872_548, 1_215_918_326])
        let lines = MonitorScreen().render(later, width: 80, height: 24, now: .seconds(1.35)).lines
        let row = try #require(lines.first { $0.contains("6523") && $0.contains("busy") })
        #expect(row.contains("product(3,13)") && row.contains("134ms"))
    }

    @Test("map_async delivers nothing until every item is done, then everything at once")
    func mapAsyncDeliversAtTheEnd() throws {
        // Sum's last item finished at 1.215239574 s; its results were delivered at 1.215698459 s.
        let before = try Fixture.mapAsync.state(until: .seconds(1.2154))
        #expect(before.jobs[0].itemsDone == 10)
        #expect(before.jobs[0].itemsDelivered == 0)
        #expect(!before.jobs[0].isComplete)
        let after = try Fixture.mapAsync.state(until: .seconds(1.2158))
        #expect(after.jobs[0].itemsDelivered == 10)
        #expect(after.jobs[0].isComplete)
    }

    @Test("imap delivers an ordered prefix and holds later items back")
    func imapOrderedPrefix() throws {
        let state = try Fixture.imap.state(until: .seconds(1.616))
        let product = state.jobs[1]
        #expect(product.descriptor.mode == .imap)
        #expect(product.deliveredPrefix == 4)
        #expect(product.itemsDone == 5)
        #expect(product.isFinished(5) && !product.isFinished(4))
        let sum = state.jobs[0]
        #expect(sum.deliveredPrefix == 10)
        #expect(sum.completionOrder == [0, 1, 3, 2, 5, 4, 7, 6, 8, 9])
        let text = MonitorScreen().render(state, width: 80, height: 24, now: .seconds(1.616)).lines.joined(separator: "\n")
        #expect(text.contains("holding 6 until 5 is done"))
    }

    @Test("imap_unordered delivers whole chunks in completion order")
    func imapUnorderedDelivery() throws {
        let state = try Fixture.imapUnordered.state()
        let sum = state.jobs[0]
        #expect(sum.descriptor.chunksize == 3)
        #expect(sum.chunkCount == 4)
        #expect(sum.plan.items(ofChunk: 3) == 9..<10)
        #expect(sum.chunkCompletionOrder == [0, 1, 3, 2])
        #expect(sum.deliveries == [0..<3, 3..<6, 9..<10, 6..<9])
        #expect(sum.itemsDelivered == 10)
    }

    @Test("chunksize 5: two chunks per job")
    func chunksizeFive() throws {
        let state = try Fixture.chunksize5.state()
        for job in state.jobs {
            #expect(!job.descriptor.chunksizeIsAutomatic)
            #expect(job.chunkCount == 2)
            #expect(job.chunksDone == 2)
            #expect(job.plan.items(ofChunk: 0) == 0..<5)
            #expect(job.plan.items(ofChunk: 1) == 5..<10)
        }
        #expect(state.effectiveChunksize?.size == 5)
        #expect(state.effectiveChunksize?.automatic == false)
    }

    @Test("a killed worker: the crash, the re-run and the replacement in the same slot")
    func workerKilled() throws {
        let crashed = try Fixture.workerKilled.state(until: .seconds(2.0200))
        let victim = try #require(crashed.slots[0])
        #expect(victim.pid == 6622)
        #expect(victim.activity == .exited(.signaled(signal: 9), .crashed))
        #expect(victim.activity.word == "crashed")
        #expect(crashed.retries == 1)
        #expect(crashed.requeuedChunks == 1)
        #expect(crashed.jobs[1].retries == 1)
        #expect(crashed.exitsByReason == [.crashed: 1])
        #expect(crashed.liveWorkerCount == 1)

        let replaced = try Fixture.workerKilled.state(until: .seconds(2.35))
        let replacement = try #require(replaced.slots[0])
        #expect(replacement.pid == 6645)
        #expect(replacement.generation == 2)
        #expect(replacement.activity == .busy)
        #expect(replaced.worker(pid: 6622) == nil)
        #expect(replacement.stream.elements.contains(.crashed))
        #expect(replaced.liveWorkerCount == 2)

        let finished = try Fixture.workerKilled.state()
        #expect(finished.jobs.map(\.itemsDone) == [40, 40])
        #expect(finished.jobs.map(\.chunksDone) == [8, 8])
        #expect(finished.exitsByReason == [.crashed: 1, .poolClosed: 2])
        #expect(finished.retries == 1)
    }

    @Test("ticks sample the queue and every worker's task stream")
    func ticksSampleHistories() throws {
        let state = try Fixture.mapAsync.state()
        // A tick every 0.1 s over a 2.02 s run.
        #expect(state.tickTimes.count == 20)
        #expect(state.tickInterval == Fixture.tick)
        // At 0.1 s both jobs are queued (20 items) and each worker holds a chunk of 2.
        #expect(state.queueHistory.elements.first == 16)
        #expect(state.queueHistory.elements.last == 0)
        let letters = state.workers.map { worker in
            String(worker.stream.elements.map { mark -> Character in
                if case .job(let id) = mark { return state.job(id: id)!.letter }
                return mark == .idle ? "·" : " "
            })
        }
        #expect(letters == ["sssssssssssspppppppp", "sssssssspppppppppppp"])
    }
}
