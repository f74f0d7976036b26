import CursesUI
import Foundation
import PoolMonitor
import ProcessPool

/// The monitor's UI thread: owns the terminal, reads keys, folds events, draws frames.
///
/// Frames are drawn at most ~30 times a second while something changes, and otherwise only on
/// input, resize or the once-a-second clock; events are folded as they are drained (O(1) each)
/// and a frame samples the state, so a flood of events never queues frames.
final class MonitorLoop {
    let source: any MonitorSource
    private let inbox: MonitorInbox
    private let interrupter: TerminalInterrupter
    private var settings: RunSettings
    /// Restart this long after a run ends (`--loop`), or never.
    private let loopDelay: UInt64?

    var feed: MonitorFeed
    var ui = MonitorUIState()
    /// Where the last frame put its panes and rows (for the mouse and page sizes).
    var layout = ScreenLayout()
    /// The inspector's last content: what it shows, at which position, made when.
    var inspectorCache: (inspection: Inspection, position: Int, madeAt: UInt64, lines: [[Span]])?
    var currentRun = 0
    var origin = EventClock.now()
    /// A watched program's pools (`watch -- CMD`, `attach`); unused for the tutorial and logs.
    var program: ProgramView?
    private var timeScale = 1.0
    private var restartAt: UInt64?
    private var lastTick: UInt64 = 0
    /// Why the session must end (see ``MonitorMessage/sessionFailed(_:)``).
    private var sessionFailure: (any Error)?
    /// The worker count the user's `+`/`-` presses have asked for and the pool has not yet
    /// confirmed (its `poolResized` event lags behind a burst of keys): each press counts from
    /// here, not from the last confirmed size, so no press is lost whatever the key rate.
    private var requestedWorkers: Int?
    /// CPU and memory of the live pool's workers, from `/proc`, once a second.
    private var sampler = WorkerResourceSampler()
    private var lastSample: UInt64 = 0
    private static let sampleInterval: UInt64 = 1_000_000_000

    private static let frameInterval: UInt64 = 33_000_000
    /// One sample of the sparkline and task streams per 100 ms of event time.
    private static let tickInterval: UInt64 = 100_000_000

    init(source: any MonitorSource, inbox: MonitorInbox, interrupter: TerminalInterrupter,
         settings: RunSettings, loopDelay: UInt64?) {
        self.source = source
        self.inbox = inbox
        self.interrupter = interrupter
        self.settings = settings
        self.loopDelay = loopDelay
        feed = MonitorFeed(MonitorState(settings: settings.monitorSettings, describer: Self.describeItem))
        ui.replaySpeed = source.replaySpeed
        if let watched = source.watchedProgram {
            program = ProgramView(command: watched.command, attached: watched.attached)
            refreshWatched()
        }
    }

    /// The tutorial's names for items (`sum(5,15)`); other tasks as `label[index]`.
    static let describeItem: MonitorState.ItemDescriber = { job, index in
        if job.function == "sum" || job.function == "product" {
            return "\(job.label)(\(index + 1),\(job.itemCount + index + 1))"
        }
        return "\(job.label)[\(index)]"
    }

    /// Runs until `q`, an interruption (a signal), or the terminal going away.
    /// - Throws: what the source reported as ending the session, once the terminal is restored.
    func run() throws {
        try CursesTerminal.withTerminal(interrupter: interrupter) { terminal in
            source.start(settings)
            var dirty = true
            var lastFrame: UInt64 = 0
            var lastSecond: UInt64 = .max
            while !terminal.isInterrupted && !terminal.isDisconnected {
                if terminal.takeStopRequest() {
                    // Ctrl-Z: the workers stop with the monitor and go on with it after `fg`.
                    let source = self.source
                    terminal.suspendForJobControl(beforeStop: { source.signalWorkers(SIGSTOP) },
                                                  afterContinue: { source.signalWorkers(SIGCONT) })
                    dirty = true
                }
                let sinceFrame = EventClock.now() &- lastFrame
                let wait = dirty ? max(0, Int((Self.frameInterval &- min(sinceFrame, Self.frameInterval)) / 1_000_000)) : 33
                if let key = terminal.readKey(timeoutMilliseconds: wait) {
                    if key == .resize { dirty = true }
                    // The signal menu and the filter prompt take the keys while open.
                    if key != .resize, handleModalKey(key) {
                        dirty = true
                        continue
                    }
                    if case .mouse(let mouse) = key {
                        handleMouse(mouse)
                        dirty = true
                        continue
                    }
                    guard let command = KeyMap.command(for: key, helpVisible: ui.showsHelp, inspectorVisible: ui.inspector != nil) else { continue }
                    if command == .quit { break }
                    ui.message = nil
                    handle(command, terminal: terminal)
                    dirty = true
                }
                if drainInbox() { dirty = true }
                if sessionFailure != nil { break }
                let now = eventNow
                // Histories only move while the run does: a finished run costs no frames.
                if feed.live.phase == .running && now &- lastTick >= Self.tickInterval {
                    // On the 100 ms grid, so one column is exactly one interval however late we are.
                    lastTick = now / Self.tickInterval * Self.tickInterval
                    feed.tick(now: lastTick)
                    dirty = true
                }
                if source.isLive && EventClock.now() &- lastSample >= Self.sampleInterval {
                    sampleResources()
                    dirty = true
                }
                if let restartAt, EventClock.now() >= restartAt {
                    self.restartAt = nil
                    restart()
                    dirty = true
                }
                // The clock on screen moves once a second even when nothing else does.
                let second = now / 1_000_000_000
                if feed.shown.phase == .running && second != lastSecond {
                    lastSecond = second
                    dirty = true
                }
                if dirty && EventClock.now() &- lastFrame >= Self.frameInterval {
                    let size = terminal.size
                    let frame = MonitorScreen().render(feed, ui: ui, width: size.width, height: size.height, now: now,
                                                       inspectorLines: inspectorContent(now: now))
                    layout = frame.layout
                    terminal.draw(frame.canvas)
                    lastFrame = EventClock.now()
                    dirty = false
                }
            }
        }
        if let sessionFailure { throw sessionFailure }
    }

    /// "Now" on the current run's event time line.
    private var eventNow: UInt64 {
        UInt64(Double(EventClock.now() &- origin) * timeScale)
    }

    private func handle(_ command: MonitorCommand, terminal: CursesTerminal) {
        if ui.handle(command, in: feed.shown) { return }
        if handleHistoryKey(command) { return }
        if !source.isLive && program == nil, refuseWithoutLivePool(command) { return }
        if program != nil, handleProgramKey(command) { return }
        switch command {
        case .redraw: terminal.forceRedraw()
        case .togglePause: feed.togglePause(now: eventNow)
        case .restart: restart()
        case .killSelected:
            if source.isLive { _ = ui.openSignalMenu(in: feed.live) }
        case .addWorker, .removeWorker:
            guard source.isLive else { return }
            if feed.live.isOver {
                // The pool is gone: the presses set the next run's count (`r` starts it).
                feed.update { _ = $0.handle(command) }
                return
            }
            let confirmed = feed.live.targetWorkers > 0 ? feed.live.targetWorkers : feed.live.settings.workers
            let workers = max(1, (requestedWorkers ?? confirmed) + (command == .addWorker ? 1 : -1))
            requestedWorkers = workers
            feed.update { state in
                state.settings.workers = workers
                state.pendingSettings.workers = workers
            }
            source.resize(workers: workers)
        case .chunkUp, .chunkDown, .cycleMode:
            guard source.isLive else { return }
            feed.update { _ = $0.handle(command) }
            if command != .cycleMode { rechunkRunningJobs() }
        default: break
        }
    }

    /// `]`/`[` mid-run: the queued rest of every unfinished job is cut at the new size at once
    /// (the pool announces it with `chunksRecut`), and the size holds for the next run as well,
    /// so nothing is left pending. Back to automatic (`[` below 1) waits for the next run.
    private func rechunkRunningJobs() {
        let live = feed.live
        guard live.phase == .running || live.phase == .closing, let size = live.pendingSettings.chunksize.explicitValue else { return }
        let running = live.jobs.suffix(16).filter { !$0.isComplete && $0.descriptor.mode != .imapUnordered }
        guard !running.isEmpty else { return }
        for job in running { source.rechunk(job: job.id, chunksize: size) }
        feed.update { $0.settings.chunksize = $0.pendingSettings.chunksize }
    }

    /// Measures the live workers (only a live source's PIDs are processes of this machine's pool).
    private func sampleResources() {
        lastSample = EventClock.now()
        let pids = feed.live.workers.filter(\.isAlive).map(\.pid)
        let samples = sampler.sample(pids, now: lastSample)
        let time = eventNow
        feed.update { $0.resources.record(samples, at: time) }
    }

    /// Gives `key` to the signal menu or the filter prompt when one is open; false otherwise.
    private func handleModalKey(_ key: KeyInput) -> Bool {
        if ui.filter.isEditing {
            ui.filter.handle(key)
            return true
        }
        guard var menu = ui.signalMenu else { return false }
        let outcome = menu.handle(key)
        ui.signalMenu = outcome == .open ? menu : nil
        if case .send(let signal, let pid) = outcome {
            if program != nil {
                sendProgramSignal(signal, to: pid, name: menu.choice.name)
            } else if source.isLive {
                source.signal(pid: pid, signal)
            }
        }
        return true
    }

    /// Starts the next run with the pending settings.
    private func restart() {
        let next = feed.live.nextRun()
        settings.apply(next.settings)
        feed = MonitorFeed(next)
        // The mode may have changed, and with it the tasks' default spread.
        let jitter = settings.jitter
        feed.update {
            $0.settings.taskJitter = jitter
            $0.pendingSettings.taskJitter = jitter
        }
        requestedWorkers = nil
        // Until the new run announces itself, whatever arrives is the old run's end (its
        // termination when restarted mid-run) and must not reach the fresh state.
        currentRun = -1
        source.start(settings)
    }

    /// Folds what the run posted; returns whether anything changed.
    private func drainInbox() -> Bool {
        let messages = inbox.drain()
        for message in messages {
            if program != nil, drainProgramMessage(message) { continue }
            switch message {
            case .runStarted(let id, let origin, let timeScale):
                // A log holding several runs: each starts on a fresh screen, as after `r`. (A
                // restart has made one already and set `currentRun` to -1; at the start it is 0.)
                if currentRun > 0 { feed = MonitorFeed(feed.live.nextRun()) }
                currentRun = id
                self.origin = origin
                self.timeScale = timeScale
                lastTick = 0
            case .clockChanged(let id, let origin, let timeScale) where id == currentRun:
                self.origin = origin
                self.timeScale = timeScale
            case .events(let id, let events) where id == currentRun:
                for event in events {
                    feed.apply(event)
                    // The pool has caught up with the presses: count from its size again.
                    if case .poolResized(_, let to) = event.kind, to == requestedWorkers { requestedWorkers = nil }
                }
            case .runFinished(let id, let summary) where id == currentRun:
                feed.update { $0.summaryLines = summary }
                if let loopDelay { restartAt = EventClock.now() + loopDelay }
            case .runFailed(let id, let message) where id == currentRun:
                feed.update { $0.summaryLines = ["run failed: \(message)"] }
            case .summary(let id, let lines) where id == currentRun:
                feed.update { $0.summaryLines = lines }
            case .sessionFailed(let error):
                sessionFailure = error
            default:
                break  // a previous run's stragglers
            }
        }
        return !messages.isEmpty
    }
}

extension RunSettings {
    /// These settings as the monitor shows them.
    var monitorSettings: MonitorSettings {
        MonitorSettings(workers: workers, chunksize: chunksize.map { .fixed($0) } ?? .automatic, mode: mode.jobMode,
                        taskJitter: jitter)
    }

    /// Takes the monitor's settings for the next run.
    mutating func apply(_ settings: MonitorSettings) {
        workers = settings.workers
        chunksize = settings.chunksize.explicitValue
        mode = DemoMode(settings.mode)
    }
}

extension DemoMode {
    var jobMode: JobMode {
        switch self {
        case .mapAsync: .map
        case .imap: .imap
        case .imapUnordered: .imapUnordered
        }
    }

    init(_ mode: JobMode) {
        switch mode {
        case .imap: self = .imap
        case .imapUnordered: self = .imapUnordered
        default: self = .mapAsync
        }
    }
}
