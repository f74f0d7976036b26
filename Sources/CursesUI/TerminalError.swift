/// Why a terminal session could not start.
public enum TerminalError: Error, Equatable, CustomStringConvertible {
    /// Standard input or standard output is not a terminal (a pipe, a file, `/dev/null`).
    case notATerminal
    /// ncurses does not know the terminal type, or it cannot move the cursor (`TERM=dumb`).
    case unsupportedTerminal(type: String)
    /// Another session is already active in this process; ncurses has one set of globals.
    case sessionAlreadyActive

    public var description: String {
        switch self {
        case .notATerminal:
            "not a terminal (standard input and output must both be a terminal)"
        case .unsupportedTerminal(let type):
            "unsupported terminal type '\(type)' (set TERM to a type this system's terminfo knows, such as xterm-256color)"
        case .sessionAlreadyActive:
            "a terminal session is already active in this process"
        }
    }
}
