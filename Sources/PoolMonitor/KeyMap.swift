/// Which key does what, following htop and btop habits. The help overlay lists these same keys
/// (``MonitorScreen/helpEntries``); a test keeps the two in step. Letters also work in capitals,
/// and `=`/`_` stand in for `+`/`-` (the same keys without or with shift).
public enum KeyMap {
    /// The command for `key`, or nil for a key that does nothing.
    /// - Parameters:
    ///   - helpVisible: whether the help overlay is open (Esc then closes it).
    ///   - inspectorVisible: whether the inspector is open (Esc and Enter then close it).
    public static func command(for key: KeyInput, helpVisible: Bool = false, inspectorVisible: Bool = false) -> MonitorCommand? {
        if inspectorVisible && !helpVisible && (key == .escape || key == .enter) { return .inspect }
        return switch key {
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
        case .function(6), .character(">"): .sortNext
        case .character("<"): .sortPrevious
        case .character("/"): .editFilter
        case .up: .selectPrevious
        case .down: .selectNext
        case .control("l"), .resize: .redraw
        case .character("n"), .character("N"): .nextPool
        case .left: .stepBack
        case .right: .stepForward
        case .shiftLeft: .stepBackSecond
        case .shiftRight: .stepForwardSecond
        case .character(","): .stepBackDispatch
        case .character("."): .stepForwardDispatch
        case .pageUp: .scrollUp
        case .pageDown: .scrollDown
        case .home: .scrollHome
        case .end: .scrollEnd
        case .tab: .focusNext
        case .backTab: .focusPrevious
        case .enter: .inspect
        case .character("f"), .character("F"): .speedUp
        case .character("s"), .character("S"): .speedDown
        default: nil
        }
    }
}
