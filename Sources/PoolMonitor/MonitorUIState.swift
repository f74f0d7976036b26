/// What the screen shows that the pool does not decide: the selected worker and the help overlay.
public struct MonitorUIState: Sendable, Equatable {
    /// The worker row the `k` key kills; the first row to start with.
    public var selectedSlot: Int?
    public var showsHelp: Bool
    /// The signal menu (`k`, F9), while open: keys go to it first.
    public var signalMenu: SignalMenu?
    /// The worker grid's order (`F6`, `<`, `>`).
    public var sort: WorkerSort = .slot
    /// `/`: what the worker output and pool events panes are narrowed to.
    public var filter = OutputFilter()

    public init(selectedSlot: Int? = 0, showsHelp: Bool = false) {
        self.selectedSlot = selectedSlot
        self.showsHelp = showsHelp
    }

    /// Moves the selection down one worker row (staying on the last).
    public mutating func selectNext(in state: MonitorState) { move(by: 1, in: state) }

    /// Moves the selection up one worker row (staying on the first).
    public mutating func selectPrevious(in state: MonitorState) { move(by: -1, in: state) }

    /// The PID `k` should kill: the selected worker's, if its process is alive.
    public func selectedPID(in state: MonitorState) -> Int32? {
        guard let selectedSlot, selectedSlot < state.slots.count,
              let worker = state.slots[selectedSlot], worker.isAlive else { return nil }
        return worker.pid
    }

    /// The workers in the grid's order (``sort``): the selection moves along it.
    public func orderedWorkers(in state: MonitorState) -> [WorkerSlot] {
        sort.ordered(state.workers, resources: state.resources)
    }

    /// Opens the signal menu for the selected worker; false when no live worker is selected.
    public mutating func openSignalMenu(in state: MonitorState) -> Bool {
        guard let pid = selectedPID(in: state) else { return false }
        signalMenu = SignalMenu(pid: pid)
        return true
    }

    /// Carries out the commands that only change what is shown (help, selection, sort, filter);
    /// returns false for the others, which the app carries out.
    public mutating func handle(_ command: MonitorCommand, in state: MonitorState) -> Bool {
        switch command {
        case .toggleHelp: showsHelp.toggle()
        case .selectNext: selectNext(in: state)
        case .selectPrevious: selectPrevious(in: state)
        case .sortNext: sort = sort.next
        case .sortPrevious: sort = sort.previous
        case .editFilter: filter.begin()
        default: return false
        }
        return true
    }

    private mutating func move(by step: Int, in state: MonitorState) {
        let rows = orderedWorkers(in: state).map(\.slot)
        guard !rows.isEmpty else { return }
        guard let selectedSlot, let position = rows.firstIndex(of: selectedSlot) else {
            self.selectedSlot = step > 0 ? rows.first : rows.last
            return
        }
        self.selectedSlot = rows[min(max(position + step, 0), rows.count - 1)]
    }
}
