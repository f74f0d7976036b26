/// The panes of the monitor's box that can have the focus: the one `PgUp`/`PgDn`/`Home`/`End`
/// and the wheel scroll, and whose title is highlighted. `Tab` moves the focus in this order.
public enum Pane: String, Sendable, Equatable, Hashable, CaseIterable {
    /// The worker grid (scrolls its selection).
    case workers
    /// The completion order (scrolls by jobs; ↑/↓ pick an item).
    case completion
    /// The task stream (follows the worker selection).
    case stream
    /// Worker output (scrolls through the run's output lines).
    case log
    /// Pool events (scrolls through the run's scheduling events).
    case events

    /// Whether the pane scrolls its own lines (the newest at the bottom, following while at
    /// the end; for the completion order, jobs); the others move the selection a page at a
    /// time instead.
    public var scrollsLines: Bool { self == .log || self == .events || self == .completion }
}
