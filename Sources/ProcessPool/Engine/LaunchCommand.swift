import Foundation

/// The command lines that start workers through a ``WorkerLauncher`` other than `.local`: the
/// launcher's own words, then the worker's command line for the far side.
struct LaunchCommand: Sendable {
    /// Worker mode over standard input and output, selected on the command line because ssh
    /// forwards no environment (see ``WorkerProcess/stdioMarker``).
    static let modeAssignment = "\(WorkerProcess.environmentKey)=\(WorkerProcess.stdioMarker)"
    /// Launch failures in a row after which a host's slots try another host.
    static let failuresBeforeMoving = 3

    let launcher: WorkerLauncher
    /// `env VAR=… EXE ARGS…`: what runs on the far side.
    let workerWords: [String]
    /// ssh only: one entry per worker the hosts ask for (`h1`, `h2`, `h2`, …), slots go round it.
    private let slotHosts: [String]

    /// - Throws: ``PoolError/Code/invalidArgument`` for a bad host, an environment name that a
    ///   shell would not take, an empty launcher, or ssh without hosts.
    init(launcher: WorkerLauncher, executable: String, arguments: [String], environment: [String: String]) throws {
        self.launcher = launcher
        var words = ["env", Self.modeAssignment]
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) {
            guard Self.isVariableName(key) else {
                throw PoolError(.invalidArgument, "remote environment variable name '\(key)' is not a shell variable name")
            }
            words.append("\(key)=\(value)")
        }
        workerWords = words + [executable] + arguments
        switch launcher {
        case .local:
            slotHosts = []
        case .ssh(let hosts, let command, _):
            guard !hosts.isEmpty else { throw PoolError(.invalidArgument, "the ssh launcher needs at least one host") }
            guard let program = command.first, !program.isEmpty else { throw PoolError(.invalidArgument, "the ssh command is empty") }
            for host in hosts { try RemoteHost.validate(host) }
            slotHosts = hosts.flatMap { Array(repeating: $0.name, count: $0.workers) }
        case .srun:
            slotHosts = []
        case .command(let template):
            guard let program = template.first, !program.isEmpty else { throw PoolError(.invalidArgument, "the launcher command is empty") }
            slotHosts = []
        }
    }

    /// The host a slot's worker is started on (ssh only): the slot's own, unless it failed
    /// ``failuresBeforeMoving`` times in a row, then the host that failed least.
    func host(forSlot slot: Int, failures: [String: Int]) -> String? {
        guard !slotHosts.isEmpty else { return nil }
        let own = slotHosts[slot % slotHosts.count]
        guard (failures[own] ?? 0) >= Self.failuresBeforeMoving else { return own }
        var best = own
        for candidate in slotHosts where (failures[candidate] ?? 0) < (failures[best] ?? 0) { best = candidate }
        return best
    }

    /// The argument vector to spawn (its first word is looked up on `PATH`).
    func argv(host: String?) -> [String] {
        switch launcher {
        case .local:
            return workerWords
        case .ssh(_, let command, let options):
            // User options first: ssh keeps the first value it reads, so theirs win.
            return command + options + ["-T", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=5",
                                        "-o", "ServerAliveCountMax=3", host ?? "localhost", "exec " + Self.shellQuoted(workerWords)]
        case .srun(let arguments):
            return ["srun"] + arguments + ["--ntasks=1", "--unbuffered", "--quiet"] + workerWords
        case .command(let template):
            guard template.contains(WorkerLauncher.commandPlaceholder) else { return template + workerWords }
            let line = "exec " + Self.shellQuoted(workerWords)
            return template.map { $0 == WorkerLauncher.commandPlaceholder ? line : $0 }
        }
    }

    /// Words as one POSIX shell command line: each in single quotes, `'` as `'\''`.
    static func shellQuoted(_ words: [String]) -> String {
        words.map { word in
            if !word.isEmpty, word.unicodeScalars.allSatisfy({ safeScalars.contains($0) }) { return word }
            return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }

    private static let safeScalars = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%".unicodeScalars)

    private static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || ("A"..."Z").contains(first) || ("a"..."z").contains(first) else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }
}
