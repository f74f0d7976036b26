/// What the screen shows that the pool does not decide: the selected worker, the help overlay,
/// the focused pane and how far each is scrolled back, the inspector.
public struct MonitorUIState: Sendable, Equatable {
    /// The worker row the `k` key kills; the first row to start with.
    public var selectedSlot: Int?
    public var showsHelp: Bool
    /// The pane the scroll keys and the wheel act on (its title is highlighted).
    public var focus: Pane = .events
    /// Lines each line pane is scrolled back from its newest (0, or absent: it follows).
    public var scrollBack: [Pane: Int] = [:]
    /// The item selected in the completion order (↑/↓ while that pane has the focus).
    public var selectedItem: WorkerSlot.ItemRef?
    /// The inspector overlay, when open.
    public var inspector: Inspection?
    /// The last thing a key could not do, in words (shown under the header until the next key).
    public var message: String?
    /// Set when the events come from a recorded log (`replay`): the header says REPLAY at this speed.
    public var replaySpeed: Double?
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

    /// Lines the pane is scrolled back (0: following the newest).
    public func back(_ pane: Pane) -> Int { scrollBack[pane] ?? 0 }

    /// Scrolls the focused line pane by `lines` (positive: back, to older lines), within
    /// `0...total`; other panes move the worker selection instead.
    public mutating func scroll(by lines: Int, total: Int, in state: MonitorState) {
        if focus.scrollsLines {
            scrollBack[focus] = min(max(0, back(focus) + lines), max(0, total))
        } else {
            move(by: -lines, in: state)
        }
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
        case .selectNext: if focus == .completion { moveItem(by: 1, in: state) } else { selectNext(in: state) }
        case .selectPrevious: if focus == .completion { moveItem(by: -1, in: state) } else { selectPrevious(in: state) }
        case .focusNext: moveFocus(forward: true)
        case .focusPrevious: moveFocus(forward: false)
        case .sortNext: sort = sort.next
        case .sortPrevious: sort = sort.previous
        case .editFilter: filter.begin()
        default: return false
        }
        return true
    }

    /// Jobs whose items the completion-order cursor walks (the latest few, as on screen).
    static let selectableJobs = 16

    /// Moves the completion-order cursor `step` items along the order items finished in (the
    /// latest jobs' first; from nothing selected, ↑ takes the newest and ↓ the oldest).
    public mutating func moveItem(by step: Int, in state: MonitorState) {
        let order = state.jobs.suffix(Self.selectableJobs).flatMap { job in
            job.completionOrder.map { WorkerSlot.ItemRef(job: job.id, index: $0) }
        }
        guard !order.isEmpty else { return }
        guard let selectedItem, let position = order.firstIndex(of: selectedItem) else {
            self.selectedItem = step < 0 ? order.last : order.first
            return
        }
        self.selectedItem = order[min(max(position + step, 0), order.count - 1)]
    }

    /// Moves the focus to the next (or previous) pane.
    public mutating func moveFocus(forward: Bool) {
        let panes = Pane.allCases
        let position = panes.firstIndex(of: focus) ?? 0
        focus = panes[(position + (forward ? 1 : panes.count - 1)) % panes.count]
    }

    mutating func move(by step: Int, in state: MonitorState) {
        let rows = orderedWorkers(in: state).map(\.slot)
        guard !rows.isEmpty else { return }
        guard let selectedSlot, let position = rows.firstIndex(of: selectedSlot) else {
            self.selectedSlot = step > 0 ? rows.first : rows.last
            return
        }
        self.selectedSlot = rows[min(max(position + step, 0), rows.count - 1)]
    }
}
