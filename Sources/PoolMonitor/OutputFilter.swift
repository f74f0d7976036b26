/// `/`: a filter on the worker output and pool events panes, as htop's filter narrows its
/// process list. Typing edits it at once (the panes follow each key); Enter keeps it, Esc clears
/// it. Matching ignores case.
public struct OutputFilter: Sendable, Equatable {
    /// The text lines must contain; empty shows everything.
    public private(set) var text = ""
    /// Whether keys are being typed into the filter (the key bar shows the prompt).
    public private(set) var isEditing = false

    /// Longest filter kept: keys are untrusted input, and no pane line is longer anyway.
    public static let maximumLength = 64

    public init() {}

    /// Whether a filter narrows the panes.
    public var isActive: Bool { !text.isEmpty }

    /// Starts editing (`/`), keeping the current text.
    public mutating func begin() { isEditing = true }

    /// Carries out a key while editing: characters add, Backspace removes, Enter keeps, Esc
    /// clears and ends.
    public mutating func handle(_ key: KeyInput) {
        switch key {
        case .character(let c):
            if text.count < Self.maximumLength { text.append(c) }
        case .backspace: if !text.isEmpty { text.removeLast() }
        case .enter, .tab: isEditing = false
        case .escape:
            text = ""
            isEditing = false
        default: break
        }
    }

    /// Whether `line` passes the filter.
    public func matches(_ line: String) -> Bool {
        text.isEmpty || line.lowercased().contains(text.lowercased())
    }
}
