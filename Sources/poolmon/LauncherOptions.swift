import ArgumentParser
import ProcessPool

/// `--launcher`, `--hosts`, `--ssh-command`, `--srun-args`: where the tutorial's workers run.
struct LauncherOptions: ParsableArguments {
    /// The launchers the command line offers.
    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case local, ssh, srun
    }

    @Option(help: "How workers are started: local (here), ssh (on --hosts) or srun (Slurm job steps). The far side runs this same executable path.")
    var launcher: Kind = .local

    @Option(help: ArgumentHelp("ssh only: the hosts and their worker counts, e.g. h1,h2:4 (default count 1).", valueName: "host[:n],…"))
    var hosts: String?

    @Option(name: .customLong("ssh-command"), help: ArgumentHelp(
        "ssh only: the ssh program and its options, e.g. \"ssh -F ./ssh_config\" (quotes group words).", valueName: "command"))
    var sshCommand: String?

    @Option(name: .customLong("srun-args"), help: ArgumentHelp(
        "srun only: options for srun, e.g. \"-p short --time 5\" (quotes group words).", valueName: "options"))
    var srunArgs: String?

    func validate() throws {
        _ = try resolved()
    }

    /// The engine's launcher for these options.
    /// - Throws: `ValidationError` naming the option that does not fit.
    func resolved() throws -> WorkerLauncher {
        switch launcher {
        case .local:
            if hosts != nil { throw ValidationError("--hosts needs --launcher ssh") }
            if sshCommand != nil { throw ValidationError("--ssh-command needs --launcher ssh") }
            if srunArgs != nil { throw ValidationError("--srun-args needs --launcher srun") }
            return .local
        case .ssh:
            guard let hosts else { throw ValidationError("--launcher ssh needs --hosts (e.g. --hosts h1,h2:4)") }
            if srunArgs != nil { throw ValidationError("--srun-args needs --launcher srun") }
            let parsed: [RemoteHost]
            do {
                parsed = try RemoteHost.parseList(hosts)
            } catch {
                throw ValidationError("--hosts: \(error)")
            }
            let command = try sshCommand.map { try Self.words($0, option: "--ssh-command") } ?? ["ssh"]
            guard !command.isEmpty else { throw ValidationError("--ssh-command is empty") }
            return .ssh(hosts: parsed, sshCommand: command)
        case .srun:
            if hosts != nil { throw ValidationError("--hosts needs --launcher ssh (srun places workers itself)") }
            if sshCommand != nil { throw ValidationError("--ssh-command needs --launcher ssh") }
            return .srun(arguments: try srunArgs.map { try Self.words($0, option: "--srun-args") } ?? [])
        }
    }

    /// Splits a command line into words as a shell would for plain words and quotes ('…', "…",
    /// backslash); nothing is expanded.
    static func words(_ text: String, option: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
                continue
            }
            if let open = quote {
                if character == open {
                    quote = nil
                } else if character == "\\" && open == "\"" {
                    escaped = true
                } else {
                    current.append(character)
                }
                continue
            }
            switch character {
            case "'", "\"":
                quote = character
                inWord = true
            case "\\":
                escaped = true
                inWord = true
            case " ", "\t", "\n":
                if inWord { words.append(current) }
                current = ""
                inWord = false
            default:
                current.append(character)
                inWord = true
            }
        }
        if quote != nil || escaped { throw ValidationError("\(option): unterminated quote or trailing backslash in '\(text)'") }
        if inWord { words.append(current) }
        return words
    }
}
