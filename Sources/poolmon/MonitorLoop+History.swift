import PoolMonitor
import ProcessPool

/// The keys and mouse events that look at the past: stepping and rewinding, scrolling panes,
/// the focus, the inspector, and a replay's speed (and its refusal of live-only keys).
extension MonitorLoop {
    /// Carries out a history key; false for keys the other paths take.
    func handleHistoryKey(_ command: MonitorCommand) -> Bool {
        switch command {
        case .stepBack: feed.step(events: -1)
        case .stepForward: feed.step(events: 1)
        case .stepBackSecond: feed.step(nanoseconds: -1_000_000_000)
        case .stepForwardSecond: feed.step(nanoseconds: 1_000_000_000)
        case .stepBackDispatch: feed.step(dispatches: false)
        case .stepForwardDispatch: feed.step(dispatches: true)
        case .scrollUp: scroll(pages: 1)
        case .scrollDown: scroll(pages: -1)
        case .scrollHome:
            if ui.focus.scrollsLines {
                ui.scrollBack[ui.focus] = layout.total(of: ui.focus)
            } else {
                ui.scroll(by: feed.shown.workers.count, total: 0, in: feed.shown)
            }
        case .scrollEnd:
            // First the focused pane follows again; pressed when it already does, back to live.
            if ui.focus.scrollsLines && ui.back(ui.focus) > 0 {
                ui.scrollBack[ui.focus] = 0
            } else if feed.isPaused {
                feed.resume()
            } else if !ui.focus.scrollsLines {
                ui.scroll(by: -feed.shown.workers.count, total: 0, in: feed.shown)
            }
        case .inspect:
            if ui.inspector != nil {
                ui.inspector = nil
            } else if ui.focus == .completion {
                if let item = ui.selectedItem {
                    ui.inspector = .item(job: item.job, index: item.index)
                } else {
                    ui.message = "Enter: pick an item of the completion order first (↑↓)"
                }
            } else if let slot = ui.selectedSlot {
                ui.inspector = .worker(slot: slot)
            } else {
                ui.message = "Enter: select a worker first (↑↓)"
            }
        case .speedUp, .speedDown:
            guard let speed = source.replaySpeed else {
                ui.message = "\(command == .speedUp ? "f" : "s"): speed applies to a replay of a log"
                return true
            }
            ui.replaySpeed = source.setSpeed(command == .speedUp ? speed * 2 : speed / 2)
        default:
            return false
        }
        return true
    }

    /// The inspector's content, remade when the view moved and, while events arrive, at most
    /// twice a second (it is a pass over the item's events, which a long run makes costly).
    func inspectorContent(now: UInt64) -> [[Span]]? {
        guard let inspection = ui.inspector else {
            inspectorCache = nil
            return nil
        }
        let position = feed.shownPosition
        let wall = EventClock.now()
        if let cache = inspectorCache, cache.inspection == inspection,
           cache.position == position || (feed.position == nil && wall &- cache.madeAt < 500_000_000) {
            return cache.lines
        }
        let lines = MonitorScreen.inspectorLines(inspection, for: feed, now: now)
        inspectorCache = (inspection, position, wall, lines)
        return lines
    }

    /// Scrolls the focused pane `pages` pages back (negative: forward).
    private func scroll(pages: Int) {
        // The completion order scrolls by jobs (two rows each): one job a press.
        let page = ui.focus == .completion ? 1 : max(1, layout.pageSize(of: ui.focus) - (ui.focus.scrollsLines ? 1 : 0))
        ui.scroll(by: pages * page, total: layout.total(of: ui.focus), in: feed.shown)
    }

    /// Showing a recorded log (`replay`, `replay --follow`), the keys that act on a live engine
    /// say why they do nothing.
    func refuseWithoutLivePool(_ command: MonitorCommand) -> Bool {
        let key: String
        switch command {
        case .addWorker: key = "+"
        case .removeWorker: key = "-"
        case .chunkUp: key = "]"
        case .chunkDown: key = "["
        case .cycleMode: key = "m"
        case .killSelected: key = "k"
        default: return false  // `r` plays a log again from its start
        }
        let what = source.replaySpeed == nil ? "this log is being followed as it is written" : "a replay shows a recorded run"
        ui.message = "\(key): \(what); there is no live pool to change"
        return true
    }

    /// Wheel: scrolls the pane under the pointer. Press: focuses that pane and selects the
    /// worker on that row (in the grid and the task stream).
    func handleMouse(_ mouse: MouseInput) {
        guard let region = layout.pane(at: mouse.y) else { return }
        ui.focus = region.pane
        switch mouse.kind {
        case .wheelUp: ui.scroll(by: 3, total: region.total, in: feed.shown)
        case .wheelDown: ui.scroll(by: -3, total: region.total, in: feed.shown)
        case .press:
            if let slot = layout.workerRows[mouse.y] { ui.selectedSlot = slot }
        }
    }
}
