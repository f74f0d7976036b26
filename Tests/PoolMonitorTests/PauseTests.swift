import PoolMonitor
import ProcessPool
import Testing

/// `MonitorFeed`: pausing freezes what is shown while the live state keeps folding.
@Suite("Pausing")
struct PauseTests {
    @Test("paused: the shown state stays put, the live one moves on, and the gap is counted")
    func freezeAndResume() throws {
        let events = try Fixture.mapAsync.events
        var feed = MonitorFeed(Fixture.mapAsync.freshState())
        for event in events.prefix(20) { feed.apply(event) }
        #expect(!feed.isPaused && feed.eventsSincePause == 0)

        feed.togglePause(now: .seconds(0.5))
        #expect(feed.isPaused)
        let frozenDone = feed.shown.jobs[0].itemsDone
        for event in events.dropFirst(20) { feed.apply(event) }

        let shown = feed.shown
        #expect(shown.jobs[0].itemsDone == frozenDone)
        #expect(shown.eventCount == 20)
        #expect(feed.live.eventCount == events.count)
        #expect(feed.eventsSincePause == events.count - 20)
        #expect(shown.freeze == MonitorState.Freeze(at: .seconds(0.5), eventsBehind: events.count - 20))
        // The clock is frozen at the pause too.
        #expect(shown.elapsed(now: .seconds(9)) == .seconds(0.5))

        let text = MonitorScreen().render(shown, width: 80, height: 24, now: .seconds(9)).lines[0]
        #expect(text.contains("PAUSED"))
        #expect(text.contains("+\(events.count - 20) events"))
        #expect(text.contains("00:00.5"))

        feed.togglePause(now: .seconds(9))
        #expect(!feed.isPaused)
        #expect(feed.shown.freeze == nil)
        #expect(feed.shown.jobs[1].itemsDone == 10)
    }

    @Test("settings and totals set while paused show at once")
    func appOwnedFieldsStayLive() {
        var feed = MonitorFeed(MonitorState(settings: MonitorSettings(workers: 2)))
        feed.togglePause(now: 0)
        feed.update {
            $0.pendingSettings.cycleMode()
            $0.summaryLines = ["total 3"]
        }
        #expect(feed.shown.pendingSettings.mode == .imap)
        #expect(feed.shown.summaryLines == ["total 3"])
        #expect(feed.shown.hasPendingChanges)
    }

    @Test("ticks while paused reach only the live state")
    func ticksWhilePaused() {
        var feed = MonitorFeed(MonitorState())
        feed.tick(now: 1)
        feed.togglePause(now: 1)
        feed.tick(now: 2)
        #expect(feed.shown.tickTimes.elements == [1])
        #expect(feed.live.tickTimes.elements == [1, 2])
    }
}
