import Foundation
import PoolMonitor
import ProcessPool
import Testing

/// A recording played into a feed as the app does (ticks on a 0.1 s grid of event time), with a
/// reference fold from scratch to compare any rewound position with.
struct Playback {
    var feed: MonitorFeed
    let events: [PoolEvent]
    let fresh: MonitorState

    init(_ events: [PoolEvent], fresh: MonitorState, store: EventStore = EventStore()) {
        self.events = events
        self.fresh = fresh
        feed = MonitorFeed(fresh, store: store)
        var lastTick: UInt64 = 0
        for event in events {
            var next = (lastTick / Fixture.tick + 1) * Fixture.tick
            while event.time >= next {
                feed.tick(now: next)
                lastTick = next
                next += Fixture.tick
            }
            feed.apply(event)
        }
    }

    /// The state after `position` events, folded from scratch with the same ticks (those due
    /// before event `position` included, as the store includes them).
    func reference(after position: Int) -> MonitorState {
        var state = fresh
        var lastTick: UInt64 = 0
        for (index, event) in events.enumerated() {
            var next = (lastTick / Fixture.tick + 1) * Fixture.tick
            while event.time >= next {
                state.tick(now: next)
                lastTick = next
                next += Fixture.tick
            }
            if index == position { break }
            state.apply(event)
        }
        return state
    }
}

/// Two states are the same to the eye: every screen they draw is the same.
func sameScreens(_ a: MonitorState, _ b: MonitorState, now: UInt64) -> Bool {
    [(80, 24), (120, 40)].allSatisfy { width, height in
        MonitorScreen().render(a, width: width, height: height, now: now).lines
            == MonitorScreen().render(b, width: width, height: height, now: now).lines
    }
}

@Suite("Event store, checkpoints and rewind")
struct EventStoreTests {
    @Test("every position of a recording rebuilds to the state folded from scratch", arguments: Fixture.allCases)
    func everyPosition(fixture: Fixture) throws {
        let events = try fixture.events
        // Small blocks of checkpoints: many spans, so rewinds cross checkpoints.
        let play = Playback(events, fresh: fixture.freshState())
        #expect(play.feed.store.count == events.count)
        #expect(play.feed.store.endIndex == events.count)
        for position in stride(from: 0, through: events.count, by: max(1, events.count / 40)) {
            let rebuilt = try #require(play.feed.store.state(after: position))
            let reference = play.reference(after: position)
            #expect(rebuilt.eventCount == reference.eventCount)
            #expect(rebuilt.tickTimes.elements == reference.tickTimes.elements, "position \(position)")
            #expect(sameScreens(rebuilt, reference, now: rebuilt.lastEventTime), "position \(position)")
        }
    }

    /// Synthetic: one job of `items` items in chunks of 1 on two workers, three events per item.
    static func manyEvents(items: Int) -> [PoolEvent] {
        var events: [PoolEvent] = []
        var time: UInt64 = 0
        func add(_ kind: PoolEvent.Kind) {
            time += 1_000
            events.append(PoolEvent(time: time, kind: kind))
        }
        add(.poolResized(from: 0, to: 2))
        add(.workerStarted(slot: 0, pid: 100))
        add(.workerStarted(slot: 1, pid: 101))
        add(.jobSubmitted(JobDescriptor(id: 1, label: "sq", function: "sq", itemCount: items, chunksize: 1,
                                        chunksizeIsAutomatic: false, mode: .imapUnordered)))
        add(.chunksQueued(job: 1, firstChunk: 0, chunks: items, start: 0, count: items, queue: QueueDepth(chunks: items, items: items)))
        for index in 0..<items {
            let pid: Int32 = index % 2 == 0 ? 100 : 101
            let left = items - index - 1
            add(.chunkDispatched(job: 1, chunk: index, start: index, count: 1, pid: pid, queue: QueueDepth(chunks: left, items: left)))
            add(.itemFinished(job: 1, index: index, pid: pid, error: nil, nanoseconds: 500))
            add(.resultsDelivered(job: 1, start: index, count: 1))
        }
        return events
    }

    @Test("a long run keeps at most 32 checkpoints: the span doubles, and rewinds still match")
    func checkpointsThin() throws {
        let events = Self.manyEvents(items: 100_000)
        let play = Playback(events, fresh: MonitorState(settings: MonitorSettings(workers: 2)))
        let store = play.feed.store
        #expect(store.count == events.count)
        #expect(store.checkpointCount <= EventStore.maxCheckpoints)
        #expect(store.checkpointSpan >= events.count / EventStore.maxCheckpoints)
        #expect(store.checkpointSpan.isMultiple(of: EventStore.blockSize))
        for position in [0, 1, 4095, 4096, 123_457, events.count / 2, events.count - 1, events.count] {
            let rebuilt = try #require(store.state(after: position))
            #expect(sameScreens(rebuilt, play.reference(after: position), now: rebuilt.lastEventTime), "position \(position)")
        }
    }

    @Test("past the byte budget the oldest events go a span at a time, counted, and what is kept still rewinds")
    func budgetDropsOldest() throws {
        let events = Self.manyEvents(items: 40_000)
        let budget = 4096 * MemoryLayout<PoolEvent>.stride * 8
        let play = Playback(events, fresh: MonitorState(settings: MonitorSettings(workers: 2)), store: EventStore(byteBudget: budget))
        let store = play.feed.store
        #expect(store.droppedEvents > 0)
        #expect(store.byteCount <= budget)
        #expect(store.firstIndex == store.droppedEvents)
        #expect(store.endIndex == events.count)
        #expect(store.event(at: 0) == nil)
        #expect(store.event(at: store.firstIndex) == events[store.firstIndex])
        // Rewinding before what is kept stops at the oldest kept moment.
        let oldest = try #require(store.state(after: 0))
        #expect(sameScreens(oldest, play.reference(after: store.firstIndex), now: oldest.lastEventTime))
        let middle = (store.firstIndex + store.endIndex) / 2
        let rebuilt = try #require(store.state(after: middle))
        #expect(sameScreens(rebuilt, play.reference(after: middle), now: rebuilt.lastEventTime))
        // The pool-events pane's lines are the scheduling events kept, oldest first.
        let first = try #require(store.schedulingEvent(0))
        #expect(first.index >= store.firstIndex)
    }

    @Test("steps: one event, one second, one chunk hand-out; the header says REWOUND and how far; resume is live")
    func steps() throws {
        let events = try Fixture.mapAsync.events
        var play = Playback(events, fresh: Fixture.mapAsync.freshState())
        let end = events.count
        play.feed.step(events: -1)
        #expect(play.feed.isPaused && play.feed.isRewound)
        #expect(play.feed.position == end - 1)
        #expect(play.feed.shown.eventCount == end - 1)
        play.feed.step(nanoseconds: -1_000_000_000)
        let afterSecond = try #require(play.feed.position)
        #expect(events[afterSecond - 1].time <= events[end - 2].time - 1_000_000_000 + 1)
        let header = MonitorScreen().render(play.feed.shown, width: 80, height: 24, now: 0).lines[0]
        #expect(header.contains("REWOUND"))
        #expect(header.contains("−1.") || header.contains("−2."))
        // Back to the first hand-out, then forward one hand-out at a time.
        play.feed.rewind(to: 0)
        play.feed.step(dispatches: true)
        let first = try #require(play.feed.position)
        guard case .chunkDispatched(_, 0, 0, 2, _, _) = events[first - 1].kind else {
            Issue.record("stopped after \(events[first - 1].kind), not the first hand-out")
            return
        }
        play.feed.step(dispatches: true)
        let second = try #require(play.feed.position)
        guard case .chunkDispatched(_, 1, 2, 2, _, _) = events[second - 1].kind else {
            Issue.record("stopped after \(events[second - 1].kind), not the second hand-out")
            return
        }
        #expect(play.feed.shown.workers.allSatisfy { !$0.assignments.isEmpty }, "both workers hold a chunk")
        play.feed.step(dispatches: false)
        #expect(play.feed.position == first)
        play.feed.resume()
        #expect(!play.feed.isPaused)
        #expect(play.feed.shown.eventCount == end)
    }

    @Test("a hostile position never traps: clamped to what is kept")
    func clamped() {
        var feed = MonitorFeed(MonitorState())
        feed.step(events: -5)
        feed.rewind(to: Int.max)
        feed.rewind(to: Int.min)
        feed.step(nanoseconds: Int64.min + 1)
        feed.step(dispatches: false)
        feed.step(dispatches: true)
        #expect(feed.shown.eventCount == 0)
    }
}

@Suite("Schema 3: the death report in workerExited")
struct DeathReportSchemaTests {
    static let details = WorkerExitDetails(
        lifetime: 2_019_000_000, peakRSSKilobytes: 25_300, oomKilled: true, job: 2, index: 5,
        lastOutput: ["Worker 6622 is processing product(5,45)", "Worker 6622 is processing product(6,46)", "tab\there \"quoted\""],
        requeued: [WorkerExitDetails.Requeued(job: 2, chunk: 1, start: 5, count: 5)])

    @Test("a workerExited with its report survives a round trip through a JSON line")
    func roundTrip() throws {
        let event = PoolEvent(time: 2_019_555_250, kind: .workerExited(slot: 0, pid: 6622, termination: .signaled(signal: 9),
                                                                       reason: .crashed, details: Self.details))
        let line = event.jsonLine
        #expect(line.hasPrefix(#"{"v":3,"#))
        #expect(line.contains(#""peak_rss_kb":25300"#))
        #expect(line.contains(#""requeued":[{"job":2,"chunk":1,"start":5,"count":5}]"#))
        #expect(try PoolEvent(jsonLine: line) == event)
    }

    @Test("schema 1 and 2 exits still read, with no report")
    func olderSchemas() throws {
        for version in [1, 2] {
            let line = #"{"v":\#(version),"t":2.5,"event":"workerExited","slot":0,"pid":6622,"signal":9,"reason":"crashed"}"#
            let event = try PoolEvent(jsonLine: line)
            #expect(event.kind == .workerExited(slot: 0, pid: 6622, termination: .signaled(signal: 9), reason: .crashed, details: nil))
        }
    }

    @Test("untrusted reports: numbers checked, lines and chunks cut to their bounds", arguments: [
        #"{"v":3,"t":1,"event":"workerExited","slot":0,"pid":1,"exit":0,"reason":"crashed","lifetime_ns":5,"peak_rss_kb":-1}"#,
        #"{"v":3,"t":1,"event":"workerExited","slot":0,"pid":1,"exit":0,"reason":"crashed","lifetime_ns":5,"item_job":-3,"item_index":0}"#,
        #"{"v":3,"t":1,"event":"workerExited","slot":0,"pid":1,"exit":0,"reason":"crashed","lifetime_ns":5,"requeued":[{"job":1,"chunk":1,"start":2147483647,"count":5}]}"#,
        #"{"v":3,"t":1,"event":"workerExited","slot":0,"pid":1,"exit":0,"reason":"crashed","lifetime_ns":-5}"#,
        #"{"v":4,"t":1,"event":"workerExited","slot":0,"pid":1,"exit":0,"reason":"crashed"}"#,
    ])
    func rejected(line: String) {
        #expect(throws: EventLogError.self) { try PoolEvent(jsonLine: line) }
    }

    @Test("a report claiming more lines and chunks than the bounds keeps the last lines, each cut")
    func bounded() throws {
        let lines = (0..<50).map { "\"\(String(repeating: "x", count: 1000))\($0)\"" }.joined(separator: ",")
        let chunks = (0..<100).map { #"{"job":1,"chunk":\#($0),"start":\#($0),"count":1}"# }.joined(separator: ",")
        let line = #"{"v":3,"t":1,"event":"workerExited","slot":0,"pid":1,"signal":9,"reason":"crashed","lifetime_ns":5,"output":["# + lines + #"],"requeued":["# + chunks + "]}"
        let event = try PoolEvent(jsonLine: line)
        guard case .workerExited(_, _, _, _, let details?) = event.kind else {
            Issue.record("no report")
            return
        }
        #expect(details.lastOutput.count == WorkerExitDetails.maxOutputLines)
        #expect(details.lastOutput.allSatisfy { $0.count <= WorkerExitDetails.maxLineLength })
        #expect(details.requeued.count == WorkerExitDetails.maxRequeued)
    }
}

@Suite("Golden screens: history")
struct HistoryGoldenTests {
    let screen = MonitorScreen()

    @Test("rewound to the second hand-out of the tutorial: both workers hold their first chunk")
    func rewound() throws {
        var play = Playback(Fixture.withTutorialOutput(try Fixture.mapAsync.events, describer: Fixture.mapAsync.describer),
                            fresh: Fixture.mapAsync.freshState())
        play.feed.update { $0.summaryLines = GoldenScreenTests.totals }
        play.feed.rewind(to: 0)
        play.feed.step(dispatches: true)
        play.feed.step(dispatches: true)
        // Then on until both run their first items.
        for _ in 0..<40 where play.feed.shown.workers.filter({ $0.currentItem != nil }).count < 2 { play.feed.step(events: 1) }
        let frame = screen.render(play.feed, width: 80, height: 24, now: .seconds(9))
        #expect(!frame.canvas.lines.joined().contains("210"), "a rewound view has no totals yet")
        try Golden.check(frame.canvas, named: "rewound_80x24")
    }

    @Test("the inspector on a worker: its item, each attempt, its output, when and why it was delivered")
    func inspector() throws {
        var play = Playback(Fixture.withTutorialOutput(try Fixture.mapAsync.events, describer: Fixture.mapAsync.describer),
                            fresh: Fixture.mapAsync.freshState())
        play.feed.rewind(to: play.feed.store.position(atTime: .seconds(1.35)))
        var ui = MonitorUIState(selectedSlot: 1)
        ui.inspector = .worker(slot: 1)
        try Golden.check(screen.render(play.feed, ui: ui, width: 80, height: 24, now: .seconds(1.35)).canvas, named: "inspector_80x24")
    }

    @Test("the inspector on a finished item of map_async: delivered with all the rest at the end")
    func inspectorDelivered() throws {
        let play = Playback(try Fixture.mapAsync.events, fresh: Fixture.mapAsync.freshState())
        let report = ItemReport.make(job: 1, index: 4, store: play.feed.store, position: play.feed.store.endIndex, state: play.feed.live)
        #expect(report.call == "sum(5,15)")
        #expect(report.attempts.count == 1)
        #expect(report.attempts.first?.outcome == "ok")
        #expect(report.deliveryReason?.contains("with all the rest at the end") == true)
    }

    @Test("imap: an item is delivered when the one before it finished")
    func imapDelivery() throws {
        let play = Playback(try Fixture.imap.events, fresh: Fixture.imap.freshState())
        let reasons = (0..<10).compactMap {
            ItemReport.make(job: 1, index: $0, store: play.feed.store, position: play.feed.store.endIndex, state: play.feed.live).deliveryReason
        }
        #expect(reasons.count == 10)
        #expect(reasons.allSatisfy { $0.hasPrefix("imap:") })
        #expect(reasons.contains { $0.contains("before it finished") }, "one waited for an earlier item (the golden imap_midrun holds 6 for 5)")
    }

    @Test("imap_unordered: an item is delivered with its chunk")
    func imapUnorderedDelivery() throws {
        let play = Playback(try Fixture.imapUnordered.events, fresh: Fixture.imapUnordered.freshState())
        let report = ItemReport.make(job: 1, index: 4, store: play.feed.store, position: play.feed.store.endIndex, state: play.feed.live)
        #expect(report.deliveryReason?.contains("with its chunk (items 4–6)") == true)
    }

    @Test("a worker killed (a schema 1 log): its slot's death report, inferred from the events around the exit")
    func deathReportFromOldLog() throws {
        let play = Playback(try Fixture.workerKilled.events, fresh: Fixture.workerKilled.freshState())
        var feed = play.feed
        feed.rewind(to: feed.store.position(atTime: .seconds(2.35)))
        var ui = MonitorUIState(selectedSlot: 0)
        let frame = screen.render(feed, ui: ui, width: 80, height: 24, now: .seconds(2.35))
        let text = frame.canvas.lines.joined(separator: "\n")
        #expect(text.contains("✝ 6622 SIGKILL · was on product(6,46) · chunk 2 (items 6–10) requeued"))
        ui.inspector = .worker(slot: 0)
        try Golden.check(screen.render(feed, ui: ui, width: 80, height: 24, now: .seconds(2.35)).canvas, named: "death_report_v1_80x24")
    }

    @Test("a death report carried in the log (schema 3): OOM kill, lifetime, peak RSS, item, output, requeued chunk")
    func deathReport() throws {
        var events = try Fixture.workerKilled.events
        let position = try #require(events.firstIndex { if case .workerExited(_, 6622, _, _, _) = $0.kind { true } else { false } })
        events[position].kind = .workerExited(slot: 0, pid: 6622, termination: .signaled(signal: 9), reason: .crashed,
                                              details: DeathReportSchemaTests.details)
        var play = Playback(events, fresh: Fixture.workerKilled.freshState())
        play.feed.rewind(to: play.feed.store.position(atTime: .seconds(2.35)))
        var ui = MonitorUIState(selectedSlot: 0)
        ui.inspector = .worker(slot: 0)
        let canvas = screen.render(play.feed, ui: ui, width: 80, height: 24, now: .seconds(2.35)).canvas
        let text = canvas.lines.joined(separator: "\n")
        #expect(text.contains("SIGKILL (OOM kill)"))
        #expect(text.contains("peak RSS 24.7 MiB"))
        #expect(text.contains("lived 2.0s"))
        try Golden.check(canvas, named: "death_report_80x24")
    }

    @Test("scrolled back: the pool events pane shows older lines, with ↑/↓ N more in its title")
    func scrolledBack() throws {
        let play = Playback(try Fixture.mapAsync.events, fresh: Fixture.mapAsync.freshState())
        var ui = MonitorUIState()
        ui.scrollBack[.events] = 1_000_000
        let frame = screen.render(play.feed, ui: ui, width: 80, height: 24, now: .seconds(2.5))
        let text = frame.canvas.lines.joined(separator: "\n")
        #expect(text.contains("▸ pool events"))
        #expect(text.contains("↓") && text.contains("more · End follows"))
        #expect(text.contains("pool 1 of process") || text.contains("workers 0 → 2"), "the oldest lines are shown")
        let region = try #require(frame.layout.regions.first { $0.pane == .events })
        #expect(region.total == play.feed.store.schedulingCount(before: play.feed.store.endIndex))
    }
}

@Suite("Event store memory bound")
struct EventStoreMemoryTests {
    /// VmRSS of this process in KiB (for the record: the notes quote it; never asserted, a
    /// test process's RSS depends on everything else it ran).
    static func residentKilobytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test("filled past its budget the store stays within it, keeps ≤ 32 checkpoints and says what it dropped")
    func fillPastBudget() throws {
        // One item every three events, as EventStoreTests.manyEvents: dispatch, finish, delivery.
        let items = 300_000
        let events = EventStoreTests.manyEvents(items: items)
        let budget = 32 << 20
        let before = Self.residentKilobytes()
        var feed = MonitorFeed(MonitorState(settings: MonitorSettings(workers: 2)), store: EventStore(byteBudget: budget))
        var keptAtFirstDrop: Int?
        for event in events {
            feed.apply(event)
            if keptAtFirstDrop == nil && feed.store.droppedEvents > 0 { keptAtFirstDrop = feed.store.count }
        }
        let after = Self.residentKilobytes()
        let store = feed.store
        #expect(store.byteCount <= budget)
        #expect(store.droppedEvents > 0)
        #expect(store.checkpointCount <= EventStore.maxCheckpoints)
        #expect(store.checkpointBytes <= EventStore.checkpointByteBudget || store.checkpointCount <= 2)
        #expect(store.endIndex == events.count)
        print("event stride \(MemoryLayout<PoolEvent>.stride) B; budget \(budget >> 20) MiB holds \(keptAtFirstDrop ?? 0) events before the first drop; kept \(store.count) of \(events.count); checkpoints \(store.checkpointCount) (≈\(store.checkpointBytes >> 10) KiB), span \(store.checkpointSpan); RSS +\((after - before) >> 10) MiB")
    }
}

@Suite("Completion order scrollback")
struct CompletionScrollTests {
    @Test("with more jobs than fit, PgUp shows older jobs' bars and strips, with ↑/↓ N more in the title")
    func olderJobs() {
        var state = MonitorState(settings: MonitorSettings(workers: 1))
        var time: UInt64 = 0
        for id in 1...12 {
            time += 1_000_000
            state.apply(PoolEvent(time: time, kind: .jobSubmitted(JobDescriptor(
                id: id, label: "job\(id)", function: "f", itemCount: 4, chunksize: 2, chunksizeIsAutomatic: false, mode: .map))))
        }
        var ui = MonitorUIState()
        ui.focus = .completion
        let latest = MonitorScreen().render(state, ui: ui, width: 80, height: 24, now: time).lines.joined(separator: "\n")
        #expect(latest.contains("job12"))
        #expect(latest.contains("more jobs"))
        #expect(!latest.contains("job1 "))
        ui.scrollBack[.completion] = 100
        let lines = MonitorScreen().render(state, ui: ui, width: 80, height: 24, now: time).lines
        #expect(lines[1].hasPrefix("job1 "), "the bars show the oldest job")
        #expect(!lines.prefix(8).joined().contains("job12"))
        #expect(lines.joined().contains("↓ 11 more · End follows"))
    }
}
