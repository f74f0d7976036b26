/// The signal menu that `k` (or F9) opens over the worker grid, as htop's kill menu does: the
/// selected worker's PID, a list of signals with SIGKILL preselected, Enter sends, Esc cancels.
///
/// A value in ``MonitorUIState``; while it is open, keys go to ``handle(_:)`` instead of
/// ``KeyMap``, so that `↑`/`↓` move in the menu and do not select another worker.
public struct SignalMenu: Sendable, Equatable {
    /// A signal the menu offers.
    public struct Choice: Sendable, Equatable {
        /// `KILL`, as htop writes it.
        public var name: String
        public var number: Int32
        /// What it does to a worker, in words.
        public var effect: String
    }

    /// What a key did in the menu.
    public enum Outcome: Sendable, Equatable {
        /// Still open (the selection may have moved).
        case open
        /// Closed without sending.
        case cancelled
        /// Send `signal` to `pid`; the menu is closed.
        case send(signal: Int32, pid: Int32)
    }

    /// The signals offered, in menu order. Linux numbers: the monitor runs on Linux only.
    public static let choices: [Choice] = [
        Choice(name: "KILL", number: 9, effect: "kill now; the pool replaces it"),
        Choice(name: "TERM", number: 15, effect: "ask it to end; the pool replaces it"),
        Choice(name: "INT", number: 2, effect: "interrupt, as Ctrl-C would"),
        Choice(name: "STOP", number: 19, effect: "freeze it (its task waits)"),
        Choice(name: "CONT", number: 18, effect: "let a stopped worker go on"),
    ]

    /// The worker the signal goes to.
    public let pid: Int32
    /// Index into ``choices``; SIGKILL to start with.
    public private(set) var selected = 0

    public init(pid: Int32) {
        self.pid = pid
    }

    public var choice: Choice { Self.choices[selected] }

    /// Carries out a key: ↑/↓ (or k/j) move, Enter sends, Esc or q cancels, a digit 1–5 picks
    /// that line and sends it. Other keys are ignored and the menu stays open.
    public mutating func handle(_ key: KeyInput) -> Outcome {
        switch key {
        case .up, .character("k"): selected = max(0, selected - 1)
        case .down, .character("j"): selected = min(Self.choices.count - 1, selected + 1)
        case .enter: return .send(signal: choice.number, pid: pid)
        case .escape, .character("q"), .function(10): return .cancelled
        case .character(let c):
            if let digit = c.wholeNumberValue, digit >= 1, digit <= Self.choices.count {
                selected = digit - 1
                return .send(signal: choice.number, pid: pid)
            }
        default: break
        }
        return .open
    }

    /// The menu's lines as the screen draws them: a title, then one line per signal.
    public var lines: [String] {
        ["send to worker \(pid):"] + Self.choices.enumerated().map { index, choice in
            "\(index + 1) \(TextFormat.fit(choice.name, 5)) \(choice.effect)"
        }
    }
}
