/// Where a drawn frame put its panes and rows: what a mouse click or wheel turn at a cell means,
/// and how many lines a page of each pane is. ``MonitorScreen/renderWithLayout`` returns it.
public struct ScreenLayout: Sendable, Equatable {
    /// A pane's rows on screen: its title rule at `titleRow`, content in `rows`.
    public struct Region: Sendable, Equatable {
        /// Which pane.
        public var pane: Pane
        public var titleRow: Int
        public var rows: Range<Int>
        /// Lines the pane has in all (for line panes), to bound scrolling.
        public var total: Int
    }

    /// The panes drawn, top to bottom.
    public var regions: [Region] = []
    /// The worker slot drawn on each screen row of the grid and the task stream.
    public var workerRows: [Int: Int] = [:]

    public init() {}

    /// The pane at screen row `y` (its title rule included).
    public func pane(at y: Int) -> Region? {
        regions.first { y == $0.titleRow || $0.rows.contains(y) }
    }

    /// Content rows of `pane` (a page for the scroll keys), at least 1.
    public func pageSize(of pane: Pane) -> Int {
        max(1, regions.first { $0.pane == pane }?.rows.count ?? 1)
    }

    /// Lines `pane` has in all (0 when not drawn).
    public func total(of pane: Pane) -> Int {
        regions.first { $0.pane == pane }?.total ?? 0
    }
}
