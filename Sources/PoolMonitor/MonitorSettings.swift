import ProcessPool

/// The knobs the monitor's keys turn: worker count (live), chunk size and mode (next run).
///
/// `MonitorState` keeps two copies, ``MonitorState/settings`` for the run on screen and
/// ``MonitorState/pendingSettings`` for the next one, so the screen can say what will change.
public struct MonitorSettings: Sendable, Equatable {
    public var workers: Int
    public var chunksize: ChunkSetting
    /// `map_async`, `imap` or `imap_unordered` (the modes the `m` key cycles through).
    public var mode: JobMode
    /// How much the tutorial's task times vary either way, as a fraction (`--jitter`): the
    /// header says so, since it is what lets imap hold results back. 0 for other programs.
    public var taskJitter: Double

    public init(workers: Int, chunksize: ChunkSetting = .automatic, mode: JobMode = .map, taskJitter: Double = 0) {
        self.workers = workers
        self.chunksize = chunksize
        self.mode = mode
        self.taskJitter = taskJitter
    }

    /// The modes `m` cycles through, in order.
    public static let modeCycle: [JobMode] = [.map, .imap, .imapUnordered]

    /// The next mode in ``modeCycle`` (a mode outside it goes to the first).
    public mutating func cycleMode() {
        let position = Self.modeCycle.firstIndex(of: mode) ?? Self.modeCycle.count - 1
        mode = Self.modeCycle[(position + 1) % Self.modeCycle.count]
    }

    /// `]`: one more item per chunk. From automatic, it starts at the size the pool chose.
    /// - Parameter effective: the chunk size the current run uses (what "automatic" came to).
    public mutating func chunkUp(effective: Int) {
        switch chunksize {
        case .automatic: chunksize = .fixed(max(1, effective) + 1)
        case .fixed(let size): chunksize = .fixed(size + 1)
        }
    }

    /// `[`: one fewer item per chunk; below 1 it goes back to automatic (Python's formula), so
    /// the default is always one key away.
    /// - Parameter effective: the chunk size the current run uses.
    public mutating func chunkDown(effective: Int) {
        switch chunksize {
        case .automatic: chunksize = effective > 1 ? .fixed(effective - 1) : .automatic
        case .fixed(let size): chunksize = size > 1 ? .fixed(size - 1) : .automatic
        }
    }
}

/// A chunk size as the user set it.
public enum ChunkSetting: Sendable, Equatable, Hashable {
    /// The pool's default: Python's formula for `map_async`, 1 for `imap`.
    case automatic
    case fixed(Int)

    /// The size to pass to the pool: nil means "let the pool choose".
    public var explicitValue: Int? {
        if case .fixed(let size) = self { return size }
        return nil
    }
}
