import CSystemShims
import Glibc
import Synchronization

/// The worker side of the pool: the same executable, started by the pool in worker mode.
///
/// Call ``runIfRequested(_:)`` first thing in `main` (before argument parsing, before any thread
/// starts). In the parent it returns at once; in a worker it serves tasks and never returns.
public enum WorkerProcess {
    /// Set in a worker's environment to the parent's PID; its presence selects worker mode.
    public static let environmentKey = "PROCESSPOOL_WORKER_PARENT"
    /// The worker reads commands from this descriptor.
    static let commandDescriptor: Int32 = 3
    /// The worker writes results to this descriptor.
    static let resultDescriptor: Int32 = 4

    /// The value of ``environmentKey`` that selects a worker started through a ``WorkerLauncher``
    /// (ssh, srun): the protocol rides standard input and output instead of descriptors 3 and 4.
    public static let stdioMarker = "stdio"

    /// Set once in ``runIfRequested(_:)`` of a worker started through a launcher, before its serve
    /// loop (the only code that reads it) runs: no other thread reads or writes it.
    nonisolated(unsafe) private static var remoteHost: String?

    /// How this worker names itself in what it prints: `host:pid` when started through a launcher
    /// (ssh, srun), where the PID alone says little, else the PID.
    public static var displayName: String { remoteHost.map { "\($0):\(getpid())" } ?? "\(getpid())" }

    /// Whether this process was started by a pool as a worker.
    public static var isWorker: Bool { getenv(environmentKey) != nil }

    /// The registry given to ``runIfRequested(_:)`` in this (parent) process: pools check task
    /// handles against it when their ``ProcessPool/Configuration/registry`` is not set.
    static let programRegistry = Mutex<TaskRegistry?>(nil)

    /// In a worker, serves tasks from `registry` until the pool closes the command pipe, then
    /// exits the process. Anywhere else, remembers `registry` as the program's (to check task
    /// handles at submission) and returns immediately.
    ///
    /// A worker that never reaches this call runs the program's own `main` instead: a pool it
    /// then creates throws ``PoolError/Code/misuse`` at once, saying to call this first.
    public static func runIfRequested(_ registry: TaskRegistry) {
        guard let value = getenv(environmentKey) else {
            programRegistry.withLock { $0 = registry }
            return
        }
        let text = String(cString: value)
        let parent = pid_t(text) ?? 0
        unsetenv(environmentKey)  // a task that runs this program again gets a normal process
        if text == stdioMarker { adoptStandardStreams() }
        // A pool gives its workers a pipe on 3 and 4. Without them the variable leaked into an
        // ordinary run (exported in a shell, say): say so rather than exit without a word.
        guard text == stdioMarker || (isPipe(commandDescriptor) && isPipe(resultDescriptor)) else {
            let program = CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? "worker"
            let line = "\(program): \(environmentKey) is set (to '\(text)'), which starts this program as a process-pool worker, "
                + "but no pool started it (it has no pool pipes on descriptors 3 and 4): unset \(environmentKey) to run it normally\n"
            line.utf8CString.withUnsafeBytes { raw in _ = writeFully(2, UnsafeRawBufferPointer(rebasing: raw.dropLast())) }
            exit(70)
        }
        // Die with the parent: the signal covers a crash of the parent, the check covers a parent
        // that died before prctl ran; EOF on the command pipe covers the rest.
        _ = cshim_set_parent_death_signal(SIGKILL)
        if parent != 0 && getppid() != parent { exit(70) }
        signal(SIGPIPE, SIG_IGN)
        if text == stdioMarker { announceIdentity() }
        var loop = WorkerLoop(registry: registry)
        loop.run()
    }

    /// A worker started through a launcher: moves the protocol from standard input and output to
    /// descriptors 3 and 4, where the serve loop expects it, and gives what tasks print standard
    /// error (the launcher carries it back as the worker's output), so that nothing a task
    /// writes can corrupt a frame. Standard input becomes `/dev/null`.
    private static func adoptStandardStreams() {
        guard dup2(0, commandDescriptor) == commandDescriptor, dup2(1, resultDescriptor) == resultDescriptor else {
            // Nowhere to speak the protocol: say so on standard error, which the launcher shows.
            let line = "process-pool worker: cannot take over standard input and output: \(String(cString: strerror(errno)))\n"
            line.utf8CString.withUnsafeBytes { raw in _ = writeFully(2, UnsafeRawBufferPointer(rebasing: raw.dropLast())) }
            exit(70)
        }
        _ = dup2(2, 1)
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if null >= 0 {
            _ = dup2(null, 0)
            if null != 0 { close(null) }
        }
    }

    /// The first frame of a worker started through a launcher: its PID and host name, which the
    /// pool cannot learn otherwise (the process it started is ssh or srun). Then a watch on both
    /// streams: once its input closes or nobody can receive its results (the pool or the
    /// launcher or the connection is gone), the worker exits at once, even in a long item.
    private static func announceIdentity() {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count - 1) == 0 ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        remoteHost = host
        var out = WireWriter(capacity: 64)
        let frame = Frame.begin(.identity, in: &out)
        out.write(UInt32(truncatingIfNeeded: getpid()))
        out.write(String(decoding: host.utf8.prefix(255), as: UTF8.self))
        Frame.end(&out, at: frame)
        if !out.withUnsafeBytes({ writeFully(resultDescriptor, $0) }) { exit(72) }
        // The pool closes a launched worker's input only when the worker holds no work (close,
        // retire) or when it wants it gone (terminate), and the launcher closes it when the pool
        // dies: either way nothing is left to do, so the worker stops at once rather than
        // finishing a long item nobody will receive. Likewise when its output can no longer be
        // delivered. POLLHUP/POLLERR are reported whatever is asked for; POLLRDHUP covers a
        // socket (rather than a pipe) shut down for writing by the far side. No POLLIN: data
        // never wakes this thread.
        // POLLRDHUP is Linux's 0x2000; Glibc does not export it to Swift without _GNU_SOURCE.
        let readHangUp: Int16 = 0x2000
        try? DedicatedThread.start(name: "launched worker watch") {
            var watched = [pollfd(fd: commandDescriptor, events: readHangUp, revents: 0),
                           pollfd(fd: resultDescriptor, events: 0, revents: 0)]
            let ended = Int16(POLLERR | POLLHUP | POLLNVAL) | readHangUp
            while true {
                let ready = poll(&watched, 2, -1)
                if ready > 0 && watched[0].revents & ended != 0 { _exit(0) }
                if ready > 0 && watched[1].revents & ended != 0 { _exit(75) }
                if ready < 0 && errno != EINTR { return }
            }
        }
    }

    private static func isPipe(_ fd: Int32) -> Bool {
        var status = stat()
        return fstat(fd, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO
    }

    /// Writes `line` and a newline to standard output in a single `write`, so that lines from
    /// different workers sharing a terminal never interleave mid-line.
    public static func printLine(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { raw in _ = writeFully(1, raw) }
    }

    @discardableResult
    static func writeFully(_ fd: Int32, _ raw: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }
}
