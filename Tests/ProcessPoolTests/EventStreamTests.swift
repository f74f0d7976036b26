import Foundation
import PoolTestSupport
import ProcessPool
import Testing

/// The event stream: what it reports, its JSON Lines form, and bounded buffering.
@Suite("Events", .timeLimit(.minutes(4)))
struct EventStreamTests {
    @Test("a run reports workers, jobs, chunks, items, deliveries and exits, in a consistent order")
    func lifecycleEvents() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        let events = pool.events()
        let collector = Task { await collectEvents(events) }
        let result = try await pool.mapAsync(TestTasks.sleepThenReturn, (0..<6).map { Pair($0, 2) }, chunksize: 2, label: "naps").value
        #expect(result == Array(0..<6))
        pool.close()
        try await pool.join()
        let all = await collector.value
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.time <= $1.time }, "timestamps are monotonic")
        let started = all.compactMap { if case .workerStarted(_, let pid, _) = $0.kind { pid } else { nil } }
        let exited = all.compactMap { if case .workerExited(_, let pid, .exited(0), .poolClosed, _) = $0.kind { pid } else { nil } }
        #expect(Set(started) == Set(exited))
        #expect(started.count == 2)
        let job = try #require(all.compactMap { if case .jobSubmitted(let job) = $0.kind { job } else { nil } }.first)
        #expect(job.label == "naps" && job.function == "sleepThenReturn" && job.itemCount == 6 && job.chunksize == 2)
        let finished = all.compactMap { $0.kind.successfullyFinishedItems }.flatMap { $0.indices }
        #expect(finished.sorted() == Array(0..<6))
        let starts = all.filter { if case .itemStarted = $0.kind { true } else { false } }
        #expect(starts.count == 6, "2 ms items report their starts")
        let delivered = all.compactMap { if case .resultsDelivered(_, let start, let count) = $0.kind { Pair(start, count) } else { nil } }
        #expect(delivered == [Pair(0, 6)], "map_async delivers everything at the end")
        let last = try #require(all.last)
        #expect(last.kind == PoolEvent.Kind.poolStateChanged(.finished))
    }

    @Test("eventBatches hands over the same events as events(), in batches")
    func batches() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        let single = pool.events()
        let batched = pool.eventBatches()
        let singles = Task { await collectEvents(single) }
        let groups = Task {
            var all: [[PoolEvent]] = []
            for await batch in batched { all.append(batch) }
            return all
        }
        _ = try await pool.mapAsync(TestTasks.square, Array(0..<500), chunksize: 1).value
        pool.close()
        try await pool.join()
        let one = await singles.value
        let many = await groups.value
        #expect(many.allSatisfy { !$0.isEmpty })
        // Each subscriber starts with its own snapshot of the workers; after that, the same events.
        func live(_ events: [PoolEvent]) -> [PoolEvent.Kind] {
            events.map(\.kind).filter {
                switch $0 {
                case .poolResized, .workerStarted, .workerReady: false
                default: true
                }
            }
        }
        let same = live(many.flatMap { $0 }) == live(one)
        #expect(same, "batches carry the same events as the single stream")
        // 500 chunks of one item, sent (in runs of consecutive chunks) and finished (in runs of items).
        let sent = live(one).reduce(0) { $0 + ($1.dispatchedChunks?.count ?? 0) }
        #expect(sent == 500, "every item was sent once: \(sent)")
        #expect(live(one).reduce(0) { $0 + $1.finishedItemCount } == 500, "every item finished once")
        #expect(many.count < one.count, "several events per batch")
    }

    @Test("every event survives a JSON Lines round trip")
    func jsonRoundTrip() throws {
        // Every kind (the list whose bytes EventLineBytesTests pins), at other times.
        let kinds = EventLineBytesTests.kinds
        for (i, kind) in kinds.enumerated() {
            let event = PoolEvent(time: UInt64(i) * 1_234_567_891 + 7, kind: kind)
            let line = event.jsonLine
            #expect(!line.contains("\n"))
            #expect(try PoolEvent(jsonLine: line) == event, "\(line)")
        }
    }

    @Test("lines in other spellings read as JSON says (the fast reader hands what it does not know to JSONDecoder)")
    func otherSpellings() throws {
        let spaced = #"{ "v" : 2 , "t" : 3 , "event" : "jobCompleted" , "job" : 5 , "error" : null , "extra" : [1, {"a": 2}] }"#
        #expect(try PoolEvent(jsonLine: spaced) == PoolEvent(time: 3_000_000_000, kind: .jobCompleted(job: 5, error: nil)))
        let escaped = #"{"v":2,"t":0.25,"event":"workerOutput","pid":3,"line":"caf\u00e9 \u2603 ü \"q\" \ud83d\ude00 \/ \\"}"#
        #expect(try PoolEvent(jsonLine: escaped)
                == PoolEvent(time: 250_000_000, kind: .workerOutput(pid: 3, line: "café ☃ ü \"q\" 😀 / \\")))
        let exponent = #"{"v":2,"t":1e0,"event":"poolResized","from":1,"to":2}"#
        #expect(try PoolEvent(jsonLine: exponent) == PoolEvent(time: 1_000_000_000, kind: .poolResized(from: 1, to: 2)))
        #expect { try PoolEvent(jsonLine: #"{"v":2,"t":1,"event":"itemStarted","job":"x","index":1,"pid":2}"#) }
            throws: { ($0 as? EventLogError)?.message == #""job" has the wrong type"# }
        #expect { try PoolEvent(jsonLine: #"{"v":2,"t":1,"event":"itemStarted","index":1,"pid":2}"#) }
            throws: { ($0 as? EventLogError)?.message == #"missing "job""# }
        #expect { try PoolEvent(jsonLine: #"{"v":2,"t":1,"event":"itemStarted","job":1,"index":1,"pid":2"#) }
            throws: { ($0 as? EventLogError)?.message == "not valid JSON" }
        #expect { try PoolEvent(jsonLine: #"{"v":2,"t":1,"event":"itemStarted","job":1,"index":1,"pid":99999999999}"#) }
            throws: { $0 is EventLogError }
    }

    @Test("a run of dispatched chunks that cannot hold its items is refused")
    func impossibleDispatchRun() {
        #expect { try PoolEvent(jsonLine: #"{"v":3,"t":1,"event":"chunksDispatched","job":1,"chunk":0,"chunks":5,"start":0,"count":4,"pid":2,"queued_chunks":0,"queued_items":0}"#) }
            throws: { ($0 as? EventLogError)?.message == "5 chunks cannot hold 4 items" }
        #expect { try PoolEvent(jsonLine: #"{"v":3,"t":1,"event":"chunksDispatched","job":1,"chunk":2147483647,"chunks":5,"start":0,"count":9,"pid":2,"queued_chunks":0,"queued_items":0}"#) }
            throws: { $0 is EventLogError }
    }

    @Test("tiny items at chunk size 1 go out in runs of consecutive chunks, one event per run, every item once")
    func coarseDispatch() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        let events = pool.eventBatches(bufferingLimit: 1 << 20)
        let collector = Task { var all: [PoolEvent] = []; for await batch in events { all += batch }; return all }
        let n = 20_000
        let values = try await pool.mapAsync(TestTasks.square, Array(0..<n), chunksize: 1).value
        #expect(values == (0..<n).map { $0 * $0 })
        pool.close()
        try await pool.join()
        let runs = await collector.value.compactMap(\.kind.dispatchedChunks)
        var sent = [Int](repeating: 0, count: n)
        for run in runs {
            // Chunk k of a chunk-size-1 job is item k, and a run is consecutive chunks.
            #expect(run.firstChunk == run.start && run.chunks == run.count, "\(run)")
            for index in run.start..<(run.start + run.count) { sent[index] += 1 }
        }
        #expect(sent.allSatisfy { $0 == 1 }, "every item sent exactly once")
        // Tiny items are prefetched: a worker takes many consecutive chunks per turn.
        #expect(runs.count < n / 4, "\(runs.count) dispatch events for \(n) chunks")
    }

    @Test("jobCancelled is a schema 3 line, read back with the same checks as every other line")
    func jobCancelledLine() throws {
        let event = PoolEvent(time: 2_000_000_000, kind: .jobCancelled(job: 9))
        let line = event.jsonLine
        #expect(line.hasPrefix(#"{"v":3,"#) && line.hasSuffix(#""event":"jobCancelled","job":9}"#), "\(line)")
        #expect(try PoolEvent(jsonLine: line) == event)
        #expect(try PoolEvent(jsonLine: #"{"v":3,"t":2,"event":"jobCancelled","job":9}"#) == event)
        // Untrusted: a job number out of range, a missing one, or the event in a log that
        // claims an older schema (which had no such event) is refused.
        #expect(throws: EventLogError.self) { try PoolEvent(jsonLine: #"{"v":3,"t":2,"event":"jobCancelled","job":-1}"#) }
        #expect(throws: EventLogError.self) { try PoolEvent(jsonLine: #"{"v":3,"t":2,"event":"jobCancelled"}"#) }
        #expect(throws: EventLogError.self) { try PoolEvent(jsonLine: #"{"v":2,"t":2,"event":"jobCancelled","job":9}"#) }
        #expect(throws: EventLogError.self) { try PoolEvent(jsonLine: #"{"v":4,"t":2,"event":"jobCancelled","job":9}"#) }
    }

    @Test("a version 1 line still reads (schema 2 added events, changed none)")
    func readsVersionOne() throws {
        let event = try PoolEvent(jsonLine: #"{"v":1,"t":1.5,"event":"itemFinished","job":1,"index":3,"pid":7,"ns":10}"#)
        #expect(event == PoolEvent(time: 1_500_000_000, kind: .itemFinished(job: 1, index: 3, pid: 7, error: nil, nanoseconds: 10)))
    }

    /// Squares `0..<count` on a fresh pool of two workers, closes and joins it, and returns
    /// the pool, the results and every event of the pool's life.
    private func squaresWithEvents(_ count: Int, chunksize: Int) async throws -> (ProcessPool, [Int], [PoolEvent]) {
        let pool = try TestEnvironment.pool(workers: 2)
        let events = pool.eventBatches(bufferingLimit: 1 << 20)
        let collector = Task { var all: [PoolEvent] = []; for await batch in events { all += batch }; return all }
        let values = try await pool.mapAsync(TestTasks.square, Array(0..<count), chunksize: chunksize).value
        pool.close()
        try await pool.join()
        return (pool, values, await collector.value)
    }

    @Test("tiny items are reported in runs, slow ones one by one, and every item exactly once")
    func coarseRuns() async throws {
        let (pool, values, all) = try await squaresWithEvents(20_000, chunksize: 1000)
        #expect(values == (0..<20_000).map { $0 * $0 })
        let runs = all.filter { if case .itemsFinished = $0.kind { true } else { false } }
        let singles = all.filter { if case .itemFinished = $0.kind { true } else { false } }
        var seen = [Int](repeating: 0, count: 20_000)
        for event in all { if let (_, indices) = event.kind.successfullyFinishedItems { for i in indices { seen[i] += 1 } } }
        #expect(seen.allSatisfy { $0 == 1 }, "every item reported finished exactly once")
        #expect(!runs.isEmpty)
        #expect(runs.count + singles.count < 2_000, "tiny items come in runs (\(runs.count) runs, \(singles.count) single)")
        guard case .poolCreated(let id, let pid, let workers)? = all.first?.kind else {
            Issue.record("the stream starts with poolCreated, not \(String(describing: all.first))"); return
        }
        #expect(id == pool.id && pid == getpid() && workers == 2)
    }

    @Test("a worker of tiny items reports a start only after a long item (or 10 ms without a write), not after every write")
    func fewStartsForTinyItems() async throws {
        let (_, values, all) = try await squaresWithEvents(200_000, chunksize: 1)
        #expect(values.count == 200_000)
        let starts = all.filter { if case .itemStarted = $0.kind { true } else { false } }.count
        let runs = all.filter { $0.kind.finishedItemCount > 0 }.count
        // Each write of results is a run (runs of one worker join while nothing comes between
        // them). A start is reported after two items of 0.2 ms or more in a row, one of 5 ms
        // (preempted ones, here) or 10 ms without a write: a few in a quiet run, about one run
        // in four with the whole suite running in parallel on two CPUs (workers then wait
        // 10 ms for a CPU). Until a time went back by a write, every write was followed by one:
        // about nine runs in ten.
        #expect(runs >= 20, "\(runs) runs")
        #expect(starts * 2 <= runs + 20, "\(starts) start reports for \(runs) runs of results")
    }

    @Test("a late subscriber's snapshot carries each running job's progress, not just its existence", .timeLimit(.minutes(2)))
    func lateSnapshot() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("late-gate").path
        // Items 0-3 finish at once; item 4 waits on the gate, so the job is mid-way when we join.
        let items = (0..<4).map { GatedValue($0) } + [GatedValue(4, gate: gate)] + (5..<8).map { GatedValue($0) }
        let result = try pool.mapAsync(TestTasks.gatedValue, items, chunksize: 1, label: "late")
        // Items before the gated one finish (tiny items may all be prefetched to one worker, so
        // the ones after it may wait behind it); then a second monitor joins.
        var first = pool.events().makeAsyncIterator()
        var finished = 0
        while finished < 4, let event = await first.next() {
            // Items done before this subscriber joined come in its own snapshot's jobProgress.
            if case .jobProgress(_, let done, _, _, _) = event.kind { finished = max(finished, done) }
            finished += event.kind.finishedItemCount
        }
        var late = pool.events().makeAsyncIterator()
        // The whole snapshot is queued at once, stamped with one time, before any later event.
        let opening = try #require(await late.next())
        TestEnvironment.open(gate)
        var snapshot = [opening.kind]
        while let event = await late.next(), event.time == opening.time { snapshot.append(event.kind) }
        if case .poolCreated(let id, _, _) = opening.kind { #expect(id == pool.id) } else { Issue.record("no poolCreated first") }
        let progress = snapshot.compactMap { if case .jobProgress(_, let done, _, _, let chunks) = $0 { (done, chunks) } else { nil } }.first
        let seen = try #require(progress, "the snapshot has the job's progress: \(snapshot)")
        #expect(seen.0 >= 4 && seen.0 < 8 && seen.1 == seen.0)
        // One chunk, or a run of them (a worker of tiny items takes several in one command).
        let held = snapshot.compactMap { $0.dispatchedChunks?.start }
        #expect(held.contains(4), "the worker holding the gated item is shown busy with it: \(held)")
        #expect(try await result.value.count == 8)
    }

    @Test("corrupt lines are rejected with a reason")
    func corruptLines() {
        for line in ["", "{", "[]", #"{"v":1,"t":1,"event":"nope"}"#, #"{"v":99,"t":1,"event":"poolResized","from":1,"to":2}"#,
                     #"{"v":1,"t":1,"event":"workerStarted","slot":"x","pid":1}"#] {
            #expect(throws: EventLogError.self) { try PoolEvent(jsonLine: line) }
        }
    }

    @Test("a subscriber that does not read loses events, counted and announced, and never slows the pool")
    func boundedBuffer() async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        let stalled = pool.events(bufferingLimit: 8)
        let values = try await pool.mapAsync(TestTasks.square, Array(0..<2000), chunksize: 1).value
        #expect(values.count == 2000)
        #expect(pool.droppedEventCount > 0)
        pool.close()
        try await pool.join()
        var received: [PoolEvent] = []
        for await event in stalled { received.append(event) }
        #expect(received.count <= 9 + 1)
        let announced = received.compactMap { if case .eventsDropped(let n) = $0.kind { n } else { nil } }.reduce(0, +)
        #expect(announced <= pool.droppedEventCount)
    }

    @Test("captured worker output arrives as whole lines")
    func capturedOutput() async throws {
        let pool = try TestEnvironment.pool(workers: 2) { $0.captureOutput = true }
        let events = pool.events()
        let collector = Task { await collectEvents(events) }
        let texts = (0..<20).map { "line \($0) " + String(repeating: "x", count: $0 * 50) }
        _ = try await pool.mapAsync(TestTasks.printLine, texts, chunksize: 1).value
        pool.close()
        try await pool.join()
        let lines = await collector.value.compactMap { if case .workerOutput(_, let line) = $0.kind { line } else { nil } }
        #expect(Set(lines) == Set(texts))
    }
}

/// Reading recorded logs back for replay.
@Suite("Event log reader", .timeLimit(.minutes(4)))
struct EventLogReaderTests {
    func write(_ text: String) -> String {
        let path = TestEnvironment.temporaryDirectory().appendingPathComponent("log.jsonl").path
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test("a recorded log reads back, blank lines skipped")
    func readsBack() throws {
        let events = [PoolEvent(time: 1, kind: .poolResized(from: 0, to: 2)), PoolEvent(time: 2, kind: .workerStarted(slot: 0, pid: 9))]
        let path = write(events.map(\.jsonLine).joined(separator: "\n\n") + "\n")
        #expect(try EventLogReader.read(path: path) == events)
    }

    @Test("a corrupt or truncated line is named by number")
    func corruptLine() throws {
        let good = PoolEvent(time: 1, kind: .poolResized(from: 0, to: 2)).jsonLine
        let corrupt = write("\(good)\n\(good)\n{\"v\":1,\"t\":2,\"event\":\"workerStarted\",\"slot\":0}\n")
        #expect(throws: EventLogReader.Failure.self) { try EventLogReader.read(path: corrupt) }
        do {
            _ = try EventLogReader.read(path: corrupt)
        } catch {
            #expect("\(error)".contains("line 3: missing \"pid\""))
        }
        let truncated = write("\(good)\n\(good.prefix(20))")
        do {
            _ = try EventLogReader.read(path: truncated)
            Issue.record("a truncated log should not read")
        } catch {
            #expect("\(error)".contains("line 2"))
            #expect("\(error)".contains("truncated"))
        }
    }

    @Test("a missing file and an empty file are errors")
    func missingAndEmpty() {
        #expect { try EventLogReader.read(path: "/nonexistent/log.jsonl") } throws: { error in
            if case .unreadable = error as? EventLogReader.Failure { return true }
            return false
        }
        #expect { try EventLogReader.read(path: write("\n")) } throws: { error in
            if case .empty = error as? EventLogReader.Failure { return true }
            return false
        }
    }
}
