import CSystemShims
import Glibc

/// Starts worker processes: `posix_spawn` of the worker executable with exactly two pipes
/// inherited, its output on a third, signals reset, and a pidfd to watch for its exit.
///
/// The output pipe carries the worker's standard error, and its standard output too when output
/// is captured (else that stays this process's). The IO thread reads it: captured lines become
/// events; otherwise they are forwarded to this process's standard error, whole. Either way the
/// last lines are kept for the worker's death report and a crash's ``PoolError``.
///
/// The C strings for `argv`/`envp` are built once per pool and freed with it. With a
/// ``WorkerLauncher`` other than `.local`, the launcher's command (ssh, srun, …) is spawned
/// instead, with the command pipe on its standard input and the result pipe on its standard
/// output (see ``spawnThroughLauncher(_:host:)``).
final class WorkerSpawner {
    struct Spawned {
        /// The process started here: the worker itself, or its launcher.
        let pid: Int32
        /// ssh: the host it was started on; `nil` for a local worker or where the launcher places it.
        var host: String? = nil
        let pidfd: Int32
        /// Parent's end of the command pipe (write), non-blocking.
        let commandFD: Int32
        /// Parent's end of the result pipe (read), non-blocking.
        let resultFD: Int32
        /// Parent's end of the output pipe (read): the child's standard error, and its standard
        /// output when captured.
        let outputFD: Int32
    }

    private let path: UnsafeMutablePointer<CChar>
    private let argv: [UnsafeMutablePointer<CChar>?]
    private let envp: [UnsafeMutablePointer<CChar>?]
    /// Whether the workers' standard output joins their standard error on the output pipe, as
    /// events (else only standard error is read, and forwarded to this process's).
    let captureOutput: Bool
    /// How remote workers are launched; `nil` for local ones.
    let launch: LaunchCommand?

    init(executable: String, arguments: [String], environment: [String: String]?, captureOutput: Bool, argv0: String,
         launch: LaunchCommand? = nil) {
        self.launch = launch
        path = strdup(executable)
        argv = ([argv0] + arguments).map { strdup($0) } + [nil]
        var env = environment ?? Self.currentEnvironment()
        // A launcher (ssh, srun) is an ordinary program: worker mode goes on its command line,
        // for the far side, not into its own environment.
        if launch == nil { env[WorkerProcess.environmentKey] = String(getpid()) } else { env[WorkerProcess.environmentKey] = nil }
        // Swift's backtracer prints some 250 lines for each crashed worker (and takes seconds):
        // off, a `fatalError` says its one line, which the death report and the crash's error
        // carry. A user who set SWIFT_BACKTRACE gets what they asked for.
        if launch == nil && env["SWIFT_BACKTRACE"] == nil { env["SWIFT_BACKTRACE"] = "enable=no" }
        envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        self.captureOutput = captureOutput
    }

    deinit {
        free(path)
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }

    static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }

    /// Spawns one worker.
    /// - Throws: ``PoolError/Code/spawnFailed`` with the system's reason.
    func spawn() throws -> Spawned {
        if let launch { return try spawnThroughLauncher(launch, host: nil) }
        let pipes = try WorkerPipes()
        var keep = false
        defer { pipes.close(parentEnds: !keep) }
        let (command, result, output) = (pipes.command, pipes.result, pipes.output)
        var pid: pid_t = 0
        let fds: [Int32] = [command[0], result[1]]
        let rc = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                cshim_spawn_worker(&pid, path, argvBuffer.baseAddress, envpBuffer.baseAddress,
                                   fds, 2, captureOutput ? output[1] : -1, output[1])
            }
        }
        guard rc == 0 else {
            throw PoolError(.spawnFailed, "cannot start worker '\(String(cString: path))': \(ResourceShortage.describe(rc))")
        }
        let spawned = try adopt(pid: pid, what: "worker", host: nil, commandFD: command[1], resultFD: result[0],
                                outputFD: output[0])
        keep = true
        return spawned
    }

    /// Spawns the launcher of one remote worker: its standard input is the command pipe, its
    /// standard output the result pipe, its standard error the output pipe.
    /// - Parameter host: for ssh, the host to start it on.
    /// - Throws: ``PoolError/Code/spawnFailed`` with the system's reason (a launcher not on `PATH`
    ///   is `ENOENT` here; ssh failing to connect shows later, as an exit before the worker's hello).
    func spawnThroughLauncher(_ launch: LaunchCommand, host: String?) throws -> Spawned {
        let pipes = try WorkerPipes()
        var keep = false
        defer { pipes.close(parentEnds: !keep) }
        let (command, result, output) = (pipes.command, pipes.result, pipes.output)
        let words = launch.argv(host: host)
        let cArgv = words.map { strdup($0) } + [nil]
        defer { for pointer in cArgv { free(pointer) } }
        var pid: pid_t = 0
        let rc = cArgv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                cshim_spawn_launcher(&pid, cArgv[0], argvBuffer.baseAddress, envpBuffer.baseAddress,
                                     command[0], result[1], output[1])
            }
        }
        guard rc == 0 else {
            throw PoolError(.spawnFailed, "cannot start the \(launch.launcher.name) launcher ('\(words[0])'): \(ResourceShortage.describe(rc))")
        }
        let spawned = try adopt(pid: pid, what: "launcher", host: host, commandFD: command[1], resultFD: result[0],
                                outputFD: output[0])
        keep = true
        return spawned
    }

    /// Takes a just-spawned child into the pool: a pidfd for its exit (on failure the child is
    /// killed and reaped, so nothing is left behind) and our pipe ends made non-blocking.
    private func adopt(pid: pid_t, what: String, host: String?, commandFD: Int32, resultFD: Int32,
                       outputFD: Int32) throws -> Spawned {
        let pidfd = cshim_pidfd_open(pid)
        guard pidfd >= 0 else {
            let reason = ResourceShortage.describe(errno)
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            throw PoolError(.spawnFailed, "pidfd_open failed for \(what) \(pid): \(reason)")
        }
        _ = fcntl(pidfd, F_SETFD, FD_CLOEXEC)
        for fd in [commandFD, resultFD, outputFD] where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return Spawned(pid: pid, host: host, pidfd: pidfd, commandFD: commandFD, resultFD: resultFD, outputFD: outputFD)
    }
}

func errnoDescription(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// The three pipes of one worker: commands to it, results from it, its output. All
/// close-on-exec, above the standard descriptors.
private struct WorkerPipes {
    var command: [Int32] = [-1, -1]
    var result: [Int32] = [-1, -1]
    var output: [Int32] = [-1, -1]

    /// - Throws: ``PoolError/Code/spawnFailed`` when the descriptors run out (any already made
    ///   are closed).
    init() throws {
        guard cshim_pipe_cloexec(&command) == 0, cshim_pipe_cloexec(&result) == 0 else {
            let reason = ResourceShortage.describe(errno)
            close(parentEnds: true)
            throw PoolError(.spawnFailed, "cannot start a worker: no descriptors for its pipes: \(reason)")
        }
        if cshim_pipe_cloexec(&output) != 0 {
            let reason = ResourceShortage.describe(errno)
            close(parentEnds: true)
            throw PoolError(.spawnFailed, "cannot start a worker: no descriptors for its output pipe: \(reason)")
        }
    }

    /// Closes the child's ends (the child has its copies once spawned), and the parent's too
    /// when the spawn failed.
    func close(parentEnds: Bool) {
        for fd in [command[0], result[1], output[1]] where fd >= 0 { Glibc.close(fd) }
        if parentEnds { for fd in [command[1], result[0], output[0]] where fd >= 0 { Glibc.close(fd) } }
    }
}
