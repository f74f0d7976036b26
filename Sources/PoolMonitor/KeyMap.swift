/// Which key does what, following htop and btop habits. The help overlay lists these same keys
/// (``MonitorScreen/helpEntries``); a test keeps the two in step. Letters also work in capitals,
/// and `=`/`_` stand in for `+`/`-` (the same keys without or with shift).
public enum KeyMap {
    /// The command for `key`, or nil for a key that does nothing.
    /// - Parameter helpVisible: whether the help overlay is open (Esc then closes it).
    public static func command(for key: KeyInput, helpVisible: Bool = false) -> MonitorCommand? {
        switch key {
        case .character("q"), .character("Q"), .function(10): .quit
        case .character("?"), .character("h"), .function(1): .toggleHelp
        case .escape: helpVisible ? .toggleHelp : nil
        // `=` is `+` without shift on most keyboards, `_` is `-` with it.
        case .character("+"), .character("="): .addWorker
        case .character("-"), .character("_"): .removeWorker
        case .character("]"): .chunkUp
        case .character("["): .chunkDown
        case .character("m"), .character("M"): .cycleMode
        case .character("r"), .character("R"): .restart
        case .character(" "): .togglePause
        case .character("k"), .function(9): .killSelected
        case .function(6), .character(">"), .character("."): .sortNext
        case .character("<"), .character(","): .sortPrevious
        case .character("/"): .editFilter
        case .up: .selectPrevious
        case .down: .selectNext
        case .control("l"), .resize: .redraw
        case .tab: .nextPool
        default: nil
        }
    }
}
