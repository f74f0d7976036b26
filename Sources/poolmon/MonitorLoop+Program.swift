import Glibc
import PoolMonitor
import ProcessPool

/// The pools of a watched program as the monitor keeps them: one screen each, `Tab` between them.
struct ProgramView {
    /// A pool's screen while another one is shown.
    struct Pool {
        var feed: MonitorFeed
        var origin: UInt64
        var connected = true
        var engine: String
        /// The worker count and chunk size the keys last asked for: presses in a burst build on
        /// each other rather than on what the pool had confirmed so far.
        var requestedWorkers: Int?
        var requestedChunksize: Int??
    }

    let command: String
    let attached: Bool
    var pools: [Int: Pool] = [:]
    var order: [Int] = []
    var exitStatus: String?
    var message: String?
    /// The program's recent lines, for the screens of pools that connect later.
    var recentOutput = RecentHistory<(pid: Int32, line: String)>(capacity: MonitorState.logCapacity)

    init(command: String, attached: Bool) {
        self.command = command
        self.attached = attached
    }
}

extension MonitorLoop {
    /// Puts what the header says about the program on the shown screen.
    func refreshWatched() {
        guard let program else { return }
        let position = program.order.firstIndex(of: currentRun).map { $0 + 1 } ?? 0
        let pool = program.pools[currentRun]
        feed.update {
            $0.watched = MonitorState.WatchedProgram(
                command: program.command, poolNumber: position, poolCount: program.order.count,
                connected: pool?.connected ?? false, attached: program.attached, exitStatus: program.exitStatus,
                message: program.message, engine: pool?.engine ?? "swift")
        }
    }

    /// Shows pool `run`, keeping the one shown now as it is.
    func showPool(_ run: Int) {
        guard var program, let next = program.pools[run] else { return }
        if program.pools[currentRun] != nil {
            program.pools[currentRun]!.feed = feed
            program.pools[currentRun]!.origin = origin
        }
        currentRun = run
        feed = next.feed
        origin = next.origin
        ui = MonitorUIState()
        self.program = program
        refreshWatched()
    }

    /// Folds a message about the watched program; returns false for messages the common path takes.
    func drainProgramMessage(_ message: MonitorMessage) -> Bool {
        guard program != nil else { return false }
        switch message {
        case .poolConnected(let run, let hello):
            var state = MonitorState(settings: MonitorSettings(workers: max(1, hello.workers)), describer: Self.describeItem)
            for entry in program!.recentOutput.elements {
                state.apply(PoolEvent(time: 0, kind: .workerOutput(pid: entry.pid, line: entry.line)))
            }
            program!.pools[run] = ProgramView.Pool(feed: MonitorFeed(state), origin: EventClock.now(), engine: hello.engine)
            program!.order.append(run)
            // Show the newcomer unless the pool on screen is still at work.
            let shownBusy = program!.pools[currentRun].map { $0.connected && $0.feed.live.phase != .finished } ?? false
            if !shownBusy { showPool(run) }
            program!.message = program!.order.count > 1 ? "pool \(hello.pool) of pid \(hello.pid) connected (n switches)" : nil
            refreshWatched()
        case .runStarted(let run, let origin, _):
            program!.pools[run]?.origin = origin
            if run == currentRun { self.origin = origin }
        case .events(let run, let events):
            if run == currentRun {
                for event in events { feed.apply(event) }
            } else if program!.pools[run] != nil {
                for event in events { program!.pools[run]!.feed.apply(event) }
            }
        case .poolDisconnected(let run, let reason):
            program!.pools[run]?.connected = false
            if let reason { program!.message = "pool connection closed: \(reason)" }
            refreshWatched()
        case .commandAnswered(_, let what, let reply):
            program!.message = reply.accepted ? "\(what): done" : "\(what) refused: \(reply.message ?? "no reason given")"
            refreshWatched()
        case .programOutput(let pid, let line):
            program!.recentOutput.append((pid, line))
            let output = PoolEvent.Kind.workerOutput(pid: pid, line: line)
            feed.apply(PoolEvent(time: feed.live.lastEventTime, kind: output))
            for run in program!.order where run != currentRun {
                let time = program!.pools[run]!.feed.live.lastEventTime
                program!.pools[run]!.feed.apply(PoolEvent(time: time, kind: output))
            }
        case .programExited(let status):
            program!.exitStatus = status
            for run in program!.order { program!.pools[run]!.connected = false }
            refreshWatched()
        default:
            return false
        }
        return true
    }

    /// Sends the signal menu's choice to a worker of the shown pool, over the monitor channel.
    func sendProgramSignal(_ signal: Int32, to pid: Int32, name: String) {
        guard var program else { return }
        let what = "SIG\(name) to worker \(pid)"
        if program.pools[currentRun]?.connected != true {
            program.message = "this pool has ended: the keys no longer act on it"
        } else if source.send(.signal(pid: pid, signal: signal), toRun: currentRun, describing: what) {
            program.message = "\(what)…"
        } else {
            program.message = "\(what): the pool is gone"
        }
        self.program = program
        refreshWatched()
    }

    /// Carries out a key on the watched program's pool; returns false for keys the common path takes.
    func handleProgramKey(_ command: MonitorCommand) -> Bool {
        guard var program else { return false }
        defer {
            self.program = program
            refreshWatched()
        }
        let run = currentRun
        let pool = program.pools[run]
        func say(_ text: String) { program.message = text }
        func send(_ action: ChannelCommand.Action, _ what: String) {
            if source.send(action, toRun: run, describing: what) {
                say("\(what)…")
            } else {
                say("\(what): the pool is gone")
            }
        }
        switch command {
        case .addWorker, .removeWorker, .killSelected, .chunkUp, .chunkDown:
            guard let pool, pool.connected else {
                say(program.order.isEmpty ? "no pool yet: the keys act on a pool once the program makes one"
                                          : "this pool has ended: the keys no longer act on it")
                return true
            }
            switch command {
            case .addWorker, .removeWorker:
                let current = pool.requestedWorkers ?? max(1, feed.live.targetWorkers)
                let workers = max(1, current + (command == .addWorker ? 1 : -1))
                program.pools[run]!.requestedWorkers = workers
                send(.resize(workers: workers), "resize to \(workers) worker\(workers == 1 ? "" : "s")")
            case .killSelected:
                // The signal menu picks the signal; Enter sends it (`sendProgramSignal`).
                if !ui.openSignalMenu(in: feed.live) { say("k: select a live worker first (↑↓)") }
            default:
                let current = pool.requestedChunksize ?? feed.live.liveChunksizeOverride ?? feed.live.effectiveChunksize?.size
                let base = current ?? 1
                let next: Int? = command == .chunkUp ? base + 1 : (base - 1 >= 1 && current != nil ? base - 1 : nil)
                program.pools[run]!.requestedChunksize = .some(next)
                send(.chunksize(next), "chunk size for the next jobs: \(next.map(String.init) ?? "their own")")
            }
        case .restart:
            say("r: the program decides when its jobs run; poolmon cannot restart it")
        case .cycleMode:
            say("m: the program chose its modes; poolmon cannot change them")
        case .nextPool:
            guard program.order.count > 1, let position = program.order.firstIndex(of: run) else {
                say("Tab: the program has \(program.order.count) pool\(program.order.count == 1 ? "" : "s")")
                return true
            }
            self.program = program
            showPool(program.order[(position + 1) % program.order.count])
            program = self.program!
        default:
            return false
        }
        return true
    }
}
