/// How a worker process comes to exist: started here with `posix_spawn` (the default), or on
/// another machine through a launcher that people already run (ssh, Slurm's `srun`, or any command).
///
/// Through a launcher the worker protocol rides the launched command's standard input and output;
/// its standard error carries the worker's own output (what tasks print). The far side runs the
/// same executable path (``ProcessPool/Configuration/executable``, else this program's own path),
/// so it must exist there, as on a shared file system. ssh forwards no environment: worker mode is
/// selected on the command line (`env PROCESSPOOL_WORKER_PARENT=stdio …`), together with
/// ``ProcessPool/Configuration/remoteEnvironment``.
///
/// What changes across machines:
/// - The worker reports its host name and PID in its first frame; events carry that PID and host.
/// - `pidfd` and `PR_SET_PDEATHSIG` reach only the local launcher process. A remote worker stops
///   when its standard input closes (after the items it holds) or at once when its standard output
///   can no longer be delivered; killing this process, even with SIGKILL, therefore stops it
///   within seconds, through the launcher.
/// - ``ProcessPool/signalWorker(pid:signal:)`` signals the launcher process, which ends the
///   connection; the remote worker then stops as above.
/// - A worker's end is known as the launcher reports it: ssh exits with the remote exit status, or
///   255 for a dropped connection or a remote death by a signal (it cannot tell which).
public enum WorkerLauncher: Sendable, Equatable {
    /// `posix_spawn` of the executable on this machine: pipes on descriptors 3 and 4, pidfd, PDEATHSIG.
    case local
    /// `ssh -T` with batch mode to each host in turn, as many workers per host as it asks for.
    /// - Parameters:
    ///   - hosts: the machines, with their worker counts (see ``RemoteHost``).
    ///   - sshCommand: the ssh program and any arguments of its own (e.g. `["ssh", "-F", "cfg"]`).
    ///   - options: more ssh options, placed before poolmon's defaults (`-T`, `BatchMode=yes`,
    ///     `ServerAliveInterval=5`, `ServerAliveCountMax=3`), which they therefore override (ssh
    ///     keeps the first value it reads for an option).
    case ssh(hosts: [RemoteHost], sshCommand: [String] = ["ssh"], options: [String] = [])
    /// One Slurm job step per worker: `srun ARGUMENTS --ntasks=1 --unbuffered --quiet EXE`.
    /// `arguments` choose the partition, nodes, time limit and so on (`["-p", "short"]`); run it
    /// inside an allocation (`salloc`, `sbatch`) or let each step make its own.
    case srun(arguments: [String] = [])
    /// Any other launcher, as an argument vector: each element equal to `{command}` is replaced by
    /// the worker's command line as one shell-quoted string (for launchers that hand it to a shell,
    /// as ssh does); without such an element the worker's command line is appended word by word.
    case command([String])

    /// The placeholder of ``command(_:)`` for the worker's command line.
    public static let commandPlaceholder = "{command}"

    /// Whether workers run through a launcher rather than being spawned here.
    public var isRemote: Bool { self != .local }

    /// The launcher's name in messages: "ssh", "srun", the command's program, or "local".
    public var name: String {
        switch self {
        case .local: "local"
        case .ssh(_, let command, _): command.first.map { String($0.split(separator: "/").last ?? "ssh") } ?? "ssh"
        case .srun: "srun"
        case .command(let words): words.first.map { String($0.split(separator: "/").last ?? "") } ?? "command"
        }
    }

    /// The worker count the launcher asks for when the configuration gives none: the sum of the
    /// hosts' counts for ssh; `nil` otherwise.
    public var defaultWorkerCount: Int? {
        if case .ssh(let hosts, _, _) = self { return hosts.reduce(0) { $0 + $1.workers } }
        return nil
    }
}
