import PoolMonitor
import ProcessPool
import Testing

/// Keys to commands, and the pure commands' effects on UI state and settings.
@Suite("Keys and commands")
struct KeyMapTests {
    @Test("every documented key maps to its command", arguments: [
        (KeyInput.character("q"), MonitorCommand.quit),
        (.function(10), .quit),
        (.character("?"), .toggleHelp),
        (.character("h"), .toggleHelp),
        (.function(1), .toggleHelp),
        (.character("+"), .addWorker),
        (.character("="), .addWorker),
        (.character("-"), .removeWorker),
        (.character("]"), .chunkUp),
        (.character("["), .chunkDown),
        (.character("m"), .cycleMode),
        (.character("r"), .restart),
        (.character(" "), .togglePause),
        (.character("k"), .killSelected),
        (.function(9), .killSelected),
        (.function(6), .sortNext),
        (.character(">"), .sortNext),
        (.character("<"), .sortPrevious),
        (.character("/"), .editFilter),
        (.up, .selectPrevious),
        (.down, .selectNext),
        (.control("l"), .redraw),
        (.resize, .redraw),
        (.character("n"), .nextPool),
        (.left, .stepBack),
        (.right, .stepForward),
        (.shiftLeft, .stepBackSecond),
        (.shiftRight, .stepForwardSecond),
        (.character(","), .stepBackDispatch),
        (.character("."), .stepForwardDispatch),
        (.pageUp, .scrollUp),
        (.pageDown, .scrollDown),
        (.home, .scrollHome),
        (.end, .scrollEnd),
        (.tab, .focusNext),
        (.backTab, .focusPrevious),
        (.enter, .inspect),
        (.character("f"), .speedUp),
        (.character("s"), .speedDown),
    ])
    func mapsKey(key: KeyInput, command: MonitorCommand) {
        #expect(KeyMap.command(for: key) == command)
        #expect(KeyMap.command(for: key, helpVisible: true) == command)
    }

    @Test("Esc closes the help and does nothing otherwise")
    func escape() {
        #expect(KeyMap.command(for: .escape, helpVisible: true) == .toggleHelp)
        #expect(KeyMap.command(for: .escape, helpVisible: false) == nil)
    }

    @Test("Esc and Enter close the inspector")
    func closeInspector() {
        #expect(KeyMap.command(for: .escape, inspectorVisible: true) == .inspect)
        #expect(KeyMap.command(for: .enter, inspectorVisible: true) == .inspect)
        #expect(KeyMap.command(for: .escape, helpVisible: true, inspectorVisible: true) == .toggleHelp)
    }

    @Test("unbound keys do nothing", arguments: [KeyInput.character("x"), .character("j"), .function(5), .control("c")])
    func unbound(key: KeyInput) {
        #expect(KeyMap.command(for: key) == nil)
    }

    @Test("every command has a key, and the help lists as many entries as there are key groups")
    func everyCommandReachable() {
        let keys: [KeyInput] = (32...126).map { .character(Character(UnicodeScalar($0)!)) }
            + (1...12).map { .function($0) } + [.up, .down, .left, .right, .escape, .resize, .tab, .backTab, .enter, .shiftLeft, .shiftRight, .pageUp, .pageDown, .home, .end]
            + "abcdefghijklmnopqrstuvwxyz".map { .control($0) }
        let reachable = Set(keys.compactMap { KeyMap.command(for: $0) })
        #expect(reachable == Set(MonitorCommand.allCases))
        // One help line per command, but +/-, ]/[, ↑/↓, ←/→, Shift-←/→, ,/., PgUp/PgDn, Home/End,
        // Tab/Shift-Tab, f/s and F6 </> share theirs; Ctrl-Z (a signal, not a key the monitor
        // reads) has a line of its own.
        #expect(MonitorScreen.helpEntries.count == MonitorCommand.allCases.count - 11 + 1)
        let help = MonitorScreen.helpEntries.map(\.keys).joined(separator: " ")
        for key in ["q", "F10", "?", "h", "F1", "+", "-", "]", "[", "m", "r", "space", "k", "F9", "F6", "<", ">", "/",
                    "↑", "↓", "Ctrl-L", "Ctrl-Z", "Tab", "Enter", "←", "→", "S-←", "S-→", ",", ".", "PgUp", "PgDn",
                    "Home", "End", "f", "s", "n"] {
            #expect(help.contains(key), "help lists \(key)")
        }
    }

    @Test("selection moves over worker rows and stops at the ends")
    func selection() throws {
        let state = try Fixture.workerKilled.state(until: .seconds(2.35))
        var ui = MonitorUIState()
        #expect(ui.selectedSlot == 0)
        #expect(ui.selectedPID(in: state) == 6645)
        ui.selectPrevious(in: state)
        #expect(ui.selectedSlot == 0)
        let handled = ui.handle(.selectNext, in: state)
        #expect(handled)
        #expect(ui.selectedSlot == 1)
        ui.selectNext(in: state)
        #expect(ui.selectedSlot == 1)
        #expect(ui.selectedPID(in: state) == 6623)
        let helpHandled = ui.handle(.toggleHelp, in: state)
        #expect(helpHandled && ui.showsHelp)
        let killHandled = ui.handle(.killSelected, in: state)
        #expect(!killHandled)
    }

    @Test("no PID to kill for an exited worker")
    func killTargetMustBeAlive() throws {
        let state = try Fixture.mapAsync.state()
        #expect(MonitorUIState(selectedSlot: 0).selectedPID(in: state) == nil)
        #expect(MonitorUIState(selectedSlot: nil).selectedPID(in: state) == nil)
        #expect(MonitorUIState(selectedSlot: 7).selectedPID(in: state) == nil)
    }

    @Test("chunk size steps from the size in use, and below 1 back to automatic")
    func chunkSteps() {
        var settings = MonitorSettings(workers: 2)
        settings.chunkUp(effective: 2)
        #expect(settings.chunksize == .fixed(3))
        settings.chunkDown(effective: 2)
        settings.chunkDown(effective: 2)
        #expect(settings.chunksize == .fixed(1))
        settings.chunkDown(effective: 2)
        #expect(settings.chunksize == .automatic)
        settings.chunkDown(effective: 4)
        #expect(settings.chunksize == .fixed(3))
        #expect(ChunkSetting.automatic.explicitValue == nil)
        #expect(ChunkSetting.fixed(3).explicitValue == 3)
    }

    @Test("setting commands change the pending settings; workers change at once")
    func settingCommands() throws {
        var state = try Fixture.mapAsync.state(until: .seconds(0.5))
        #expect(handled(&state, .chunkUp))
        #expect(state.pendingSettings.chunksize == .fixed(3))
        #expect(state.settings.chunksize == .automatic)
        #expect(handled(&state, .cycleMode))
        #expect(state.hasPendingChanges)
        #expect(handled(&state, .addWorker))
        #expect(state.settings.workers == 3 && state.pendingSettings.workers == 3)
        #expect(!handled(&state, .restart))
        let next = state.nextRun()
        #expect(next.settings == MonitorSettings(workers: 3, chunksize: .fixed(3), mode: .imap))
        #expect(!next.hasPendingChanges)
        #expect(next.eventCount == 0)
        #expect(next.describer(JobDescriptor(id: 1, label: "sum", function: "sum", itemCount: 10, chunksize: 1,
                                             chunksizeIsAutomatic: true, mode: .map), 4) == "sum(5,15)")
        var single = MonitorState(settings: MonitorSettings(workers: 1))
        #expect(handled(&single, .removeWorker))
        #expect(single.settings.workers == 1)
    }

    /// `state.handle(command)` outside `#expect`, which cannot call mutating methods.
    private func handled(_ state: inout MonitorState, _ command: MonitorCommand) -> Bool {
        state.handle(command)
    }

    @Test("mode cycles map_async → imap → imap_unordered → map_async")
    func modeCycle() {
        var settings = MonitorSettings(workers: 1, mode: .map)
        var seen: [JobMode] = []
        for _ in 0..<3 {
            settings.cycleMode()
            seen.append(settings.mode)
        }
        #expect(seen == [.imap, .imapUnordered, .map])
        settings.mode = .starmap
        settings.cycleMode()
        #expect(settings.mode == .map)
    }
}
