import Foundation
import PoolTestSupport
import ProcessPool
import Testing

/// Live chunk tuning: `rechunk(job:chunksize:)` cuts a running job's queued rest again, and the
/// `chunksRecut` event says so (issue 13: `]` mid-run, seen at once instead of at the next run).
@Suite("rechunk: the queued rest of a running job cut again", .timeLimit(.minutes(4)))
struct RechunkTests {
    /// The jobs' size. Items that finish at once teach the pool they are tiny, and it then hands
    /// a worker up to 1,024 chunks ahead (`PoolSettings.prefetchMaxChunks`): this many leaves
    /// thousands queued.
    private static let itemCount = 20_000

    /// `count` items whose item `held` waits for `gate`: with one worker, the job stops there,
    /// its rest still queued, until the test has re-cut it. (Timed items made the tests race the
    /// job: on a loaded machine their events were read after it had ended.)
    private static func heldItems(_ count: Int, heldAt held: Int, gate: String) -> [GatedValue] {
        (0..<count).map { GatedValue($0, gate: $0 == held ? gate : "") }
    }

    /// Reads `events` until `count` items have finished.
    private static func waitForFinishedItems(_ count: Int, in events: AsyncStream<PoolEvent>) async {
        var seen = 0
        for await event in events {
            seen += event.kind.finishedItemCount
            if seen >= count { return }
        }
    }

    @Test("mid-run the queued items are re-cut: later dispatches carry the new size, results are exact and in order")
    func rechunkRunningJob() async throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let events = pool.events(bufferingLimit: 1 << 16)
        let collector = Task { await collectEvents(events) }
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        defer { TestEnvironment.open(gate) }
        let probe = pool.events()
        let result = try pool.mapAsync(TestTasks.gatedValue, Self.heldItems(Self.itemCount, heldAt: 6, gate: gate), chunksize: 2)
        // Items 0–5 done, the worker held on item 6: the job is under way, its rest queued.
        await Self.waitForFinishedItems(6, in: probe)
        try pool.rechunk(job: 1, chunksize: 10)
        TestEnvironment.open(gate)
        #expect(try await result.value == Array(0..<Self.itemCount))
        pool.close()
        try await pool.join()
        let all = await collector.value
        let recut = all.compactMap { event -> (chunksize: Int, first: Int, chunks: Int, start: Int, count: Int)? in
            if case .chunksRecut(1, let size, let first, let chunks, let start, let count, _) = event.kind { return (size, first, chunks, start, count) }
            return nil
        }
        let cut = try #require(recut.first)
        #expect(recut.count == 1)
        #expect(cut.chunksize == 10)
        #expect(cut.start > 6, "the chunks already handed to the worker are left as they are")
        #expect(cut.start + cut.count == Self.itemCount, "the rest of the job, to its end")
        #expect(cut.chunks == (cut.count + 9) / 10)
        let position = try #require(all.firstIndex { if case .chunksRecut = $0.kind { true } else { false } })
        // Dispatches come one chunk at a time or in runs of consecutive chunks.
        let dispatches = { (events: ArraySlice<PoolEvent>) in
            events.compactMap { $0.kind.dispatchedChunks }.filter { $0.job == 1 }
        }
        let later = dispatches(all[position...])
        #expect(!later.isEmpty)
        #expect(later.first?.firstChunk == cut.first && later.first?.start == cut.start)
        #expect(later.allSatisfy { $0.count == 10 * $0.chunks || $0.start + $0.count == Self.itemCount }, "chunks of 10 but the job's last: \(later)")
        #expect(later.reduce(0) { $0 + $1.count } == cut.count, "the re-cut rest is handed out once: \(later)")
        let earlier = dispatches(all[..<position])
        #expect(!earlier.isEmpty)
        #expect(earlier.allSatisfy { $0.count == 2 * $0.chunks }, "\(earlier)")
    }

    @Test("a subscriber joining after a re-cut gets it in its snapshot, with the same chunks")
    func lateSubscriber() async throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("gate").path
        defer { TestEnvironment.open(gate) }
        let live = pool.events(bufferingLimit: 1 << 16)
        let result = try pool.mapAsync(TestTasks.gatedValue, Self.heldItems(Self.itemCount, heldAt: 6, gate: gate), chunksize: 2)
        var recut: PoolEvent.Kind?
        var finished = 0
        var asked = false
        for await event in live {
            finished += event.kind.finishedItemCount
            if finished >= 6 && !asked {
                // Held on item 6: the rest is queued until the gate opens.
                try pool.rechunk(job: 1, chunksize: 5)
                asked = true
            }
            if case .chunksRecut = event.kind { recut = event.kind; break }
            if case .jobCompleted = event.kind { break }
        }
        let seen = try #require(recut, "the job ended without a re-cut")
        let late = pool.events(bufferingLimit: 1 << 16)
        var snapshot: [PoolEvent.Kind] = []
        for await event in late {
            snapshot.append(event.kind)
            if case .chunksRecut = event.kind { break }
            if case .jobCompleted = event.kind { break }
        }
        TestEnvironment.open(gate)
        guard case .chunksRecut(1, 5, let first, _, let start, _, _) = seen else { Issue.record("\(seen)"); return }
        let inSnapshot = snapshot.contains {
            if case .chunksRecut(1, 5, first, _, start, let count, _) = $0 { return start + count == Self.itemCount }
            return false
        }
        #expect(inSnapshot, "\(snapshot)")
        #expect(try await result.value == Array(0..<Self.itemCount))
    }

    @Test("an invalid size throws; an imap_unordered job and an unknown job are left alone")
    func refusals() async throws {
        let pool = try TestEnvironment.pool(workers: 1)
        defer { pool.terminate() }
        #expect(throws: PoolError.self) { try pool.rechunk(job: 1, chunksize: 0) }
        let events = pool.events(bufferingLimit: 1 << 16)
        let collector = Task { await collectEvents(events) }
        let stream = try pool.imapUnordered(TestTasks.sleepThenReturn, (0..<20).map { Pair($0, 5) }, chunksize: 2)
        try pool.rechunk(job: 1, chunksize: 5)
        try pool.rechunk(job: 99, chunksize: 5)
        var total = 0
        for try await value in stream { total += value }
        #expect(total == (0..<20).reduce(0, +))
        pool.close()
        try await pool.join()
        let all = await collector.value
        #expect(!all.contains { if case .chunksRecut = $0.kind { true } else { false } })
    }

    @Test("chunksRecut goes through JSON Lines and back, and a bad one is rejected")
    func jsonLines() throws {
        let event = PoolEvent(time: 1_500_000_000, kind: .chunksRecut(job: 2, chunksize: 8, firstChunk: 5, chunks: 3, start: 40, count: 20,
                                                                        queue: QueueDepth(chunks: 3, items: 20)))
        #expect(try PoolEvent(jsonLine: event.jsonLine) == event)
        let bad = event.jsonLine.replacingOccurrences(of: "\"chunksize\":8", with: "\"chunksize\":0")
        #expect(bad != event.jsonLine)
        #expect(throws: EventLogError.self) { try PoolEvent(jsonLine: bad) }
        let missing = event.jsonLine.replacingOccurrences(of: "\"chunks\":3,", with: "")
        #expect(throws: EventLogError.self) { try PoolEvent(jsonLine: missing) }
    }
}
