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
        // A pool gives its workers a pipe on 3 and 4. Without them the variable leaked into an
        // ordinary run (exported in a shell, say): say so rather than exit without a word.
        guard isPipe(commandDescriptor) && isPipe(resultDescriptor) else {
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
        var loop = WorkerLoop(registry: registry)
        loop.run()
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
