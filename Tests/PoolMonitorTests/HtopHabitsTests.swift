import Foundation
import PoolMonitor
import ProcessPool
import Testing

/// Issue 13's rough edges and htop habits, on the pure monitor: each reproduction of the issue
/// as a state and a rendered screen.
@Suite("htop habits and the rough edges a new user hits")
struct HtopHabitsTests {
    typealias Script = SyntheticFoldTests.Script

    func text(_ state: MonitorState, ui: MonitorUIState = MonitorUIState(), width: Int = 80, height: Int = 24, now: UInt64) -> String {
        MonitorScreen().render(state, ui: ui, width: width, height: height, now: now).lines.joined(separator: "\n")
    }

    /// The rendered line that contains `marker`.
    func line(_ text: String, containing marker: String) -> String? {
        text.split(separator: "\n").map(String.init).first { $0.contains(marker) }
    }

    // MARK: + and - once the run has finished

    @Test("+ + + - after the run: the next run's workers are 4, said on screen, and the run's own count stays 2")
    func workersAfterTheRun() throws {
        var state = try Fixture.mapAsync.state()
        #expect(state.phase == .finished)
        for command in [MonitorCommand.addWorker, .addWorker, .addWorker, .removeWorker] {
            let handled = state.handle(command)
            #expect(handled)
        }
        #expect(state.pendingSettings.workers == 4)
        #expect(state.settings.workers == 2, "the finished run had 2")
        #expect(state.hasPendingChanges)
        let screen = text(state, now: state.lastEventTime)
        #expect(screen.contains("next run: workers 2 → 4"), "\(screen)")
        #expect(state.nextRun().settings.workers == 4, "r starts 4")
    }

    @Test("- alone after the run: 1 worker next time, and never fewer than 1")
    func removeAfterTheRun() throws {
        var state = try Fixture.mapAsync.state()
        _ = state.handle(.removeWorker)
        _ = state.handle(.removeWorker)
        #expect(state.pendingSettings.workers == 1)
        #expect(text(state, now: state.lastEventTime).contains("next run: workers 2 → 1"))
        #expect(state.nextRun().settings.workers == 1)
    }

    @Test("during a run + and - still change the live pool's count at once")
    func workersDuringTheRun() throws {
        var state = try Fixture.mapAsync.state(until: .seconds(0.5))
        #expect(state.phase == .running)
        _ = state.handle(.addWorker)
        #expect(state.settings.workers == 3 && state.pendingSettings.workers == 3)
        #expect(!state.hasPendingChanges)
    }

    // MARK: a failed item is seen as failed

    /// `--crash-on sum:7` as the events say it: item 7 (index 6) fails, the other nine finish.
    func poisonRun() -> (MonitorState, UInt64) {
        var script = Script()
        script.workers([11, 12])
        script.job(1, "sum", items: 10, chunksize: 2)
        for index in 0..<10 {
            script.add(.itemStarted(job: 1, index: index, pid: 11))
            let error = index == 6 ? "sum item 7 (index 6) (task sum) killed 4 workers" : nil
            script.add(.itemFinished(job: 1, index: index, pid: 11, error: error, nanoseconds: 1))
        }
        script.add(.jobCompleted(job: 1, error: "sum item 7 (index 6) (task sum) killed 4 workers"))
        return (script.state(), script.time)
    }

    @Test("the poison item is marked ✗ in the bar and in the completion order, and the count leaves it out")
    func failedItemVisible() throws {
        let (state, now) = poisonRun()
        let screen = text(state, now: now)
        let bar = try #require(line(screen, containing: "sum     ["))
        #expect(bar.contains("✗"), "the bar shows the failure: \(bar)")
        #expect(bar.contains("9/10"), "nine items succeeded: \(bar)")
        let order = try #require(line(screen, containing: "finished   "))
        #expect(order.contains("✗7"), "item 7 is marked failed in the completion order: \(order)")
        #expect(!order.contains(" 7 "), "and not listed as a plain finished item: \(order)")
    }

    // MARK: imap's holding

    @Test("imap: a finished result waiting for an earlier one is shown held, and afterwards counted")
    func imapHolding() {
        var script = Script()
        script.workers([11, 12])
        script.job(1, "sum", items: 4, chunksize: 1, mode: .imap)
        script.add(.chunkDispatched(job: 1, chunk: 0, start: 0, count: 1, pid: 11, queue: QueueDepth(chunks: 3, items: 3)))
        script.add(.chunkDispatched(job: 1, chunk: 1, start: 1, count: 1, pid: 12, queue: QueueDepth(chunks: 2, items: 2)))
        script.add(.itemStarted(job: 1, index: 0, pid: 11))
        script.add(.itemStarted(job: 1, index: 1, pid: 12))
        script.add(.itemFinished(job: 1, index: 1, pid: 12, error: nil, nanoseconds: 1))
        let holding = text(script.state(), now: script.time)
        #expect(holding.contains("holding 2 until 1 is done"), "\(holding)")
        script.add(.itemFinished(job: 1, index: 0, pid: 11, error: nil, nanoseconds: 1))
        script.add(.resultsDelivered(job: 1, start: 0, count: 2))
        let state = script.state()
        #expect(state.jobs[0].itemsHeldBack == 1)
        #expect(text(state, now: script.time).contains("1 held back so far"))
    }

    @Test("the header states the tasks' spread when the tutorial varies them")
    func jitterInHeader() {
        var state = MonitorState(settings: MonitorSettings(workers: 2, mode: .imap, taskJitter: 0.5))
        state.apply(PoolEvent(time: 1, kind: .poolStateChanged(.running)))
        #expect(text(state, now: 1).split(separator: "\n").first?.contains("tasks ±50%") == true)
        let plain = MonitorState(settings: MonitorSettings(workers: 2))
        #expect(text(plain, now: 1).split(separator: "\n").first?.contains("tasks ±") == false)
    }

    // MARK: big runs

    /// `--count 3000000 --chunksize 1`, well into the run: a worker has done 107,100 items and
    /// holds chunk 12,501 with 452 more chunks sent ahead.
    func bigRun() -> (MonitorState, UInt64) {
        var script = Script()
        script.workers([11])
        script.job(1, "sum", items: 3_000_000, chunksize: 1)
        script.add(.chunkDispatched(job: 1, chunk: 0, start: 0, count: 107_100, pid: 11, queue: QueueDepth(chunks: 1, items: 1)))
        script.add(.itemsFinished(job: 1, start: 0, count: 107_100, pid: 11, nanoseconds: 1))
        script.add(.chunkDispatched(job: 1, chunk: 12_500, start: 1_234_500, count: 12_501, pid: 11, queue: QueueDepth(chunks: 1, items: 1)))
        for chunk in 0..<452 {
            script.add(.chunkDispatched(job: 1, chunk: 12_501 + chunk, start: 1_247_001 + chunk, count: 1, pid: 11,
                                        queue: QueueDepth(chunks: 1, items: 1)))
        }
        script.add(.itemStarted(job: 1, index: 1_234_500, pid: 11))
        return (script.state(), script.time + 68_000_000)
    }

    @Test("columns never run together at any count: counts abbreviated, the chunk column readable", arguments: [80, 120])
    func bigCounts(width: Int) throws {
        let (state, now) = bigRun()
        let screen = text(state, width: width, height: 30, now: now)
        let row = try #require(line(screen, containing: "busy"))
        #expect(row.contains(" 107k"), "done abbreviated with a space before it: \(row)")
        #expect(row.range(of: #"\dms\d"#, options: .regularExpression) == nil, "elapsed and done apart: \(row)")
        #expect(row.contains("1.2M–1.2M") || row.contains("1234501–1247001"), "the chunk range readable: \(row)")
        #expect(!row.contains("…  "), "no range cut mid-number: \(row)")
        let bar = try #require(line(screen, containing: "sum     ["))
        #expect(bar.contains("107k/3.0M"), "\(bar)")
    }

    // MARK: many workers

    @Test("--workers 40 at 100×30: the task stream says how many are out of view, and the output and events panes stay")
    func manyWorkers() {
        var script = Script()
        script.workers((1...40).map { Int32(1000 + $0) })
        script.job(1, "sum", items: 400, chunksize: 3)
        for pid in 1001...1040 {
            script.add(.itemStarted(job: 1, index: pid - 1001, pid: Int32(pid)))
            script.add(.workerOutput(pid: Int32(pid), line: "Worker \(pid) is processing"))
        }
        var state = script.state()
        for tick in 1...20 { state.tick(now: UInt64(tick) * 100_000_000) }
        let screen = text(state, width: 100, height: 30, now: script.time)
        let lines = screen.split(separator: "\n").map(String.init)
        let stream = lines.firstIndex { $0.contains("task stream") }
        let output = lines.firstIndex { $0.contains("worker output") }
        #expect(output != nil, "\(screen)")
        #expect(lines.contains { $0.contains("pool events") }, "\(screen)")
        if let stream, let output {
            #expect(lines[(stream + 1)..<output].contains { $0.contains("below (↑/↓ scrolls)") }, "\(screen)")
        }
    }

    // MARK: help, queue graph and shade

    @Test("the help explains the queue graph, the to do column, +N and the abbreviations")
    func helpExplains() {
        let state = MonitorState()
        // With the history keys the whole help needs more than 24 rows: 80×24 shows the keys,
        // a taller terminal the legend below them too.
        let help = text(state, ui: MonitorUIState(showsHelp: true), width: 80, height: 40, now: 0)
        for words in ["the graph is its history", "to do: items left", "+N: N more chunks sent ahead", "12.3k", "✗ failed", "sort workers", "F9"] {
            #expect(help.contains(words), "help says \(words)")
        }
    }

    @Test("queued work's ░ is drawn in the terminal's own colour, not dim (invisible on dark backgrounds)")
    func queuedShade() throws {
        let state = try Fixture.mapAsync.state(until: .seconds(0.5))
        let canvas = MonitorScreen().render(state, width: 80, height: 24, now: .seconds(0.5))
        var shades = 0
        for y in 0..<canvas.height {
            for x in 0..<canvas.width where canvas[x, y].character == "░" {
                #expect(!canvas[x, y].style.dim)
                shades += 1
            }
        }
        #expect(shades > 0)
    }

    @Test("the queue graph is labelled with its span and does not move while paused")
    func queueGraph() throws {
        let state = try Fixture.mapAsync.state(until: .seconds(1.5))
        let header = try #require(text(state, width: 120, height: 40, now: .seconds(1.5)).split(separator: "\n").first)
        #expect(header.contains("over 1.4s") || header.contains("over 1.5s"), "\(header)")
        var feed = MonitorFeed(state)
        feed.togglePause(now: .seconds(1.5))
        let paused = text(feed.shown, width: 120, height: 40, now: .seconds(1.5)).split(separator: "\n").first
        for tick in 16...30 { feed.tick(now: UInt64(tick) * 100_000_000) }
        #expect(text(feed.shown, width: 120, height: 40, now: .seconds(3)).split(separator: "\n").first == paused)
    }

    // MARK: signal menu

    @Test("the signal menu offers KILL first, moves with ↑↓, sends on Enter, cancels on Esc")
    func signalMenu() throws {
        var menu = SignalMenu(pid: 42)
        #expect(menu.choice.name == "KILL")
        #expect(SignalMenu.choices.map(\.name) == ["KILL", "TERM", "INT", "STOP", "CONT"])
        let r1 = menu.handle(.up)
        #expect(r1 == .open && menu.choice.name == "KILL")
        let r2 = menu.handle(.down)
        #expect(r2 == .open && menu.choice.name == "TERM")
        let r3 = menu.handle(.enter)
        #expect(r3 == .send(signal: 15, pid: 42))
        var other = SignalMenu(pid: 42)
        let r4 = other.handle(.character("x"))
        #expect(r4 == .open)
        let r5 = other.handle(.escape)
        #expect(r5 == .cancelled)
        var digit = SignalMenu(pid: 7)
        let r6 = digit.handle(.character("4"))
        #expect(r6 == .send(signal: 19, pid: 7), "4 is STOP")
        let r7 = digit.handle(.character("5"))
        #expect(r7 == .send(signal: 18, pid: 7), "5 is CONT")
    }

    @Test("k opens the menu for the selected live worker only, and the screen shows it")
    func signalMenuOnScreen() throws {
        let state = try Fixture.workerKilled.state(until: .seconds(2.35))
        var ui = MonitorUIState()
        let r8 = ui.openSignalMenu(in: state)
        #expect(r8)
        #expect(ui.signalMenu?.pid == 6645)
        let screen = text(state, ui: ui, now: .seconds(2.35))
        #expect(screen.contains("send to worker 6645"))
        #expect(screen.contains("KILL") && screen.contains("CONT"))
        var finished = MonitorUIState(selectedSlot: 0)
        let r9 = finished.openSignalMenu(in: try Fixture.mapAsync.state())
        #expect(!r9, "no live worker, no menu")
    }

    // MARK: sort and resources

    func sampled(_ state: MonitorState, cpu: [Int32: Double], rss: [Int32: Int] = [:], stopped: Set<Int32> = []) -> MonitorState {
        var state = state
        let samples = state.workers.filter(\.isAlive).map {
            ResourceTable.Sample(pid: $0.pid, cpuPercent: cpu[$0.pid] ?? 0, residentBytes: rss[$0.pid] ?? 0, stopped: stopped.contains($0.pid))
        }
        state.resources.record(samples, at: state.lastEventTime)
        return state
    }

    @Test("sorting by CPU puts the busiest worker first, the header marks the column, and ↑↓ follow the shown order")
    func sortByCPU() throws {
        let base = try Fixture.mapAsync.state(until: .seconds(0.5))
        let pids = base.workers.map(\.pid)
        #expect(pids.count == 2)
        let state = sampled(base, cpu: [pids[0]: 3, pids[1]: 97], rss: [pids[0]: 20 << 20, pids[1]: 30 << 20])
        var ui = MonitorUIState()
        _ = ui.handle(.sortNext, in: state)
        _ = ui.handle(.sortNext, in: state)
        #expect(ui.sort == .cpu)
        #expect(ui.orderedWorkers(in: state).map(\.pid) == [pids[1], pids[0]])
        let screen = text(state, ui: ui, now: .seconds(0.5))
        #expect(screen.contains("CPU%▼"))
        let rows = screen.split(separator: "\n").filter { $0.contains("busy") || $0.contains("idle") }
        #expect(rows.first?.contains("\(pids[1])") == true, "the 97% worker on top: \(rows)")
        #expect(rows.first?.contains("97%") == true && rows.first?.contains("30.0M") == true)
        // Selection follows the shown order: from the first row (slot 0, shown second) up goes to slot 1.
        ui.selectPrevious(in: state)
        #expect(ui.selectedPID(in: state) == pids[1])
        _ = ui.handle(.sortPrevious, in: state)
        #expect(ui.sort == .pid)
    }

    @Test("CPU% and RSS columns, a trend, pool totals, and a stopped worker said so")
    func resources() throws {
        let base = try Fixture.mapAsync.state(until: .seconds(0.5))
        let pids = base.workers.map(\.pid)
        #expect(!text(base, now: .seconds(0.5)).contains("CPU%"), "no columns before the app measured anything")
        var state = sampled(base, cpu: [pids[0]: 50, pids[1]: 100], rss: [pids[0]: 10 << 20, pids[1]: 12 << 20])
        state = sampled(state, cpu: [pids[0]: 60, pids[1]: 100], rss: [pids[0]: 10 << 20, pids[1]: 12 << 20], stopped: [pids[0]])
        #expect(state.resources.usage(of: pids[0])?.cpuTrend == [50, 60])
        #expect(state.resources.totals.cpuPercent == 160)
        let screen = text(state, width: 120, height: 40, now: .seconds(0.5))
        #expect(screen.contains("CPU%") && screen.contains("RSS") && screen.contains("trend"))
        #expect(screen.contains("cpu 160% · rss 22.0M"), "pool totals in the workers title")
        #expect(screen.split(separator: "\n").first?.contains("cpu 160% rss 22.0M") == true, "and in the header at 120 columns")
        #expect(screen.contains("stopped"), "SIGSTOPped worker said so")
        var wild = ResourceTable()
        wild.record([ResourceTable.Sample(pid: 1, cpuPercent: .nan, residentBytes: -5)], at: 0)
        #expect(wild.usage(of: 1)?.cpuPercent == 0 && wild.usage(of: 1)?.residentBytes == 0, "bad samples clamped")
        for _ in 0..<20 { wild.record([ResourceTable.Sample(pid: 1, cpuPercent: 1, residentBytes: 1)], at: 0) }
        #expect(wild.usage(of: 1)?.cpuTrend.count == ResourceTable.trendLength)
        wild.record([], at: 0)
        #expect(wild.usage(of: 1) == nil, "gone workers are let go")
    }

    // MARK: filter

    @Test("/ filters worker output and pool events; Esc clears; typing is bounded")
    func filter() throws {
        let state = try Fixture.mapAsync.state(until: .seconds(1.5), withOutput: true)
        var ui = MonitorUIState()
        _ = ui.handle(.editFilter, in: state)
        #expect(ui.filter.isEditing)
        for c in "product" { ui.filter.handle(.character(c)) }
        let screen = text(state, ui: ui, width: 100, height: 40, now: .seconds(1.5))
        #expect(screen.contains("filter: product"), "the prompt in the key bar")
        let lines = screen.split(separator: "\n").map(String.init)
        let output = try #require(lines.firstIndex { $0.contains("worker output") })
        let events = try #require(lines.firstIndex { $0.contains("pool events") })
        let shownOutput = lines[(output + 1)..<events].filter { $0.contains("Worker") }
        #expect(!shownOutput.isEmpty && shownOutput.allSatisfy { $0.contains("product") }, "\(shownOutput)")
        let shownEvents = lines[(events + 1)...].filter { $0.contains("→ worker") || $0.contains("queued") }
        #expect(shownEvents.allSatisfy { $0.contains("product") }, "\(shownEvents)")
        ui.filter.handle(.enter)
        #expect(!ui.filter.isEditing && ui.filter.isActive)
        _ = ui.handle(.editFilter, in: state)
        ui.filter.handle(.escape)
        #expect(!ui.filter.isActive)
        for _ in 0..<1000 { ui.filter.handle(.character("x")) }
        #expect(ui.filter.text.count == OutputFilter.maximumLength)
    }

    // MARK: chunk tuning

    /// One worker runs `job`'s items back to back: each takes `own` ns, with `gap` ns of
    /// dispatch and result handling between them, in chunks of `chunksize`.
    func tuningRun(items: Int, chunksize: Int, own: UInt64, gap: UInt64) -> (MonitorState, UInt64) {
        var script = Script()
        script.workers([11])
        script.job(1, "sum", items: items, chunksize: chunksize)
        var time = script.time
        for index in 0..<items {
            // The gap falls between chunks: that is where the pool's work is.
            time += own + (index % chunksize == 0 ? gap : 0)
            script.events.append(PoolEvent(time: time, kind: .itemFinished(job: 1, index: index, pid: 11, error: nil, nanoseconds: own)))
        }
        script.time = time
        return (script.state(), time)
    }

    @Test("efficiency: the items' share of worker time, from the events; a bigger chunk suggested when overhead dominates")
    func efficiencyGauge() throws {
        // 1 ms items, 1 ms of overhead per one-item chunk: half the time wasted.
        let (state, now) = tuningRun(items: 200, chunksize: 1, own: 1_000_000, gap: 1_000_000)
        let gauge = try #require(state.tuning.gauge(ofJob: 1))
        #expect(gauge.items == 199, "the first finish has nothing before it to measure from")
        let efficiency = try #require(gauge.efficiency)
        #expect(abs(efficiency - 0.5) < 0.01)
        // Overhead of 1 ms per chunk under 5% of the chunk's time: 19 items of 1 ms at least;
        // 200 items over 1 worker allow chunks up to 50 for balance.
        let suggested = state.tuning.suggestedChunksize(ofJob: 1, chunksize: 1, chunksDone: 199, items: 200, workers: 1)
        #expect(suggested == 19)
        let row = try #require(line(text(state, now: now), containing: "sum     ["))
        #expect(row.contains("eff 50%"), "\(row)")
        // Cheap overhead: no suggestion to change.
        let (good, _) = tuningRun(items: 200, chunksize: 10, own: 1_000_000, gap: 10_000)
        #expect((good.tuning.gauge(ofJob: 1)?.efficiency ?? 0) > 0.99)
        #expect(good.tuning.suggestedChunksize(ofJob: 1, chunksize: 10, chunksDone: 19, items: 200, workers: 1) == 10)
    }

    @Test("a running job with wasteful chunks shows 'try N' in its row")
    func suggestionOnScreen() throws {
        var script = Script()
        script.workers([11])
        script.job(1, "sum", items: 400, chunksize: 1)
        for index in 0..<100 {
            script.time += 2_000_000
            script.events.append(PoolEvent(time: script.time, kind: .itemFinished(job: 1, index: index, pid: 11, error: nil, nanoseconds: 1_000_000)))
        }
        let row = try #require(line(text(script.state(), now: script.time), containing: "sum     ["))
        #expect(row.contains("eff 50%") && row.contains("try 19"), "\(row)")
    }

    @Test("chunksRecut: the plan takes the new chunks for the re-cut items, the header the new size, the events pane says so")
    func recutFold() throws {
        var script = Script()
        script.workers([11])
        script.job(1, "sum", items: 100, chunksize: 2)
        for index in 0..<10 { script.add(.itemFinished(job: 1, index: index, pid: 11, error: nil, nanoseconds: 1)) }
        // Chunks 1–5 done (items 1–10); 11–12 at the worker; the rest, from item 13, cut in tens.
        script.add(.chunksRecut(job: 1, chunksize: 10, firstChunk: 6, chunks: 9, start: 12, count: 88, queue: QueueDepth(chunks: 9, items: 88)))
        let state = script.state()
        let job = try #require(state.jobs.first)
        #expect(job.chunkCount == 15)
        #expect(job.plan.items(ofChunk: 5) == 10..<12, "the chunk at the worker keeps its items")
        #expect(job.plan.items(ofChunk: 6) == 12..<22)
        #expect(job.plan.items(ofChunk: 14) == 92..<100)
        #expect(job.plan.chunk(containing: 50) == 9)
        #expect(job.plan.chunk(containing: 3) == 1)
        #expect(state.effectiveChunksize?.size == 10)
        let screen = text(state, width: 100, height: 40, now: script.time)
        #expect(screen.contains("chunk 10"), "\(screen)")
        #expect(screen.contains("rest re-cut: items 13–100 now in chunks 7–15 of 10"), "\(screen)")
    }

    @Test("the key bar shows htop's F-keys at 80 columns")
    func keyBar() throws {
        let state = try Fixture.mapAsync.state(until: .seconds(0.5))
        let bar = try #require(text(state, now: .seconds(0.5)).split(separator: "\n").last)
        for key in ["F1 help", "F6 sort", "F9 kill", "F10 quit", "r restart", "m mode"] {
            #expect(bar.contains(key), "\(bar)")
        }
    }
}
