import CSystemShims
import Foundation
import Glibc
import ProcessPool
import Synchronization

/// `poolmon watch -- CMD`: runs the user's program with its pools connected to the monitor.
///
/// The program gets `POOLMON_SOCKET` naming a socket in the private attach directory; every
/// `ProcessPool` it creates connects there (see ``MonitorChannel``) and becomes a run of the
/// monitor. Its standard output and error go to the output pane through a pipe, never over the
/// screen; its standard input is `/dev/null` (the terminal is the monitor's).
final class ProgramSource: MonitorSource {
    private struct State {
        var pid: pid_t?
        /// The wait status once reaped.
        var status: Int32?
        var started = false
    }

    let isLive = true
    let command: [String]
    private let inbox: MonitorInbox
    private let socketPath: String
    private let connections: PoolConnections
    private let python: PythonInstrumentation
    private let state = Mutex(State())
    private let exited = NSCondition()

    /// Makes the socket the program's pools will connect to.
    /// - Throws: a message when the private directory or the socket cannot be made.
    init(command: [String], inbox: MonitorInbox, eventLog: EventLogWriter?) throws {
        self.command = command
        self.inbox = inbox
        let (path, listener) = try PoolConnections.listen(named: "watch")
        socketPath = path
        connections = PoolConnections(inbox: inbox, listener: listener, eventLog: eventLog)
        python = try PythonInstrumentation()
    }

    var watchedProgram: WatchedProgramInfo? { WatchedProgramInfo(command: command.joined(separator: " "), attached: false) }

    /// The status poolmon exits with: the program's (128 + signal where it was killed), once it ended.
    var exitCode: Int32? {
        guard let status = state.withLock({ $0.status }) else { return nil }
        return Self.exitCode(status)
    }

    static func exitCode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        return signal == 0 ? "exit \((status >> 8) & 0xff)" : signalName(signal)
    }

    func start(_: RunSettings) {
        let first = state.withLock { state -> Bool in
            defer { state.started = true }
            return !state.started
        }
        guard first else { return }
        connections.start()
        do {
            try spawn()
        } catch {
            inbox.post(.programOutput(pid: 0, line: "poolmon: cannot start \(command[0]): \(error)"))
            inbox.post(.programExited(status: "not started"))
        }
    }

    func resize(workers: Int) {}
    func kill(pid: Int32) {}

    /// Ctrl-Z and `fg`: the program runs in a process group of its own (the terminal's SIGTSTP
    /// misses it), so the whole group is signalled: the program, and the workers that share its
    /// group (a Python pool's forked workers). A `ProcessPool`'s workers have groups of their
    /// own and go on. Only while the program is unreaped: its PID (the group's ID) is still ours.
    func signalWorkers(_ signal: Int32) {
        state.withLock { state in
            if state.status == nil, let pid = state.pid { Glibc.kill(-pid, signal) }
        }
    }

    func send(_ action: ChannelCommand.Action, toRun run: Int, describing what: String) -> Bool {
        connections.send(action, toRun: run, describing: what)
    }

    /// Stops the program if it still runs (SIGTERM, then SIGKILL after 3 s), and closes the socket.
    func stop() {
        if let pid = state.withLock({ $0.status == nil ? $0.pid : nil }) {
            Glibc.kill(pid, SIGTERM)
            if !waitForExit(seconds: 3) {
                Glibc.kill(pid, SIGKILL)
                _ = waitForExit(seconds: 10)
            }
        }
        connections.stop()
        unlink(socketPath)
        python.remove()
    }

    /// Removes the Python instrumentation's directory (the session is over).
    func removeInstrumentation() {
        python.remove()
    }

    private func waitForExit(seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        exited.lock()
        defer { exited.unlock() }
        while state.withLock({ $0.status == nil }) {
            if !exited.wait(until: deadline) { return state.withLock { $0.status != nil } }
        }
        return true
    }

    private func spawn() throws {
        var output: [Int32] = [-1, -1]
        guard cshim_pipe_cloexec(&output) == 0 else { throw ValidationErrorMessage(String(cString: strerror(errno))) }
        // Ours end stays above 2 whatever was closed at start.
        if output[0] <= 2 { let moved = fcntl(output[0], F_DUPFD_CLOEXEC, 3); close(output[0]); output[0] = moved }
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        // Python programs: their multiprocessing pools connect too (PythonInstrumentation).
        var environment = python.environment(ProcessInfo.processInfo.environment)
        environment[MonitorChannel.socketEnvironmentKey] = socketPath
        // Line-buffered output from Python scripts, so their prints show as they happen.
        environment["PYTHONUNBUFFERED"] = environment["PYTHONUNBUFFERED"] ?? "1"
        // Python workers mark their lines with their PID while they still write to this pipe.
        environment[WorkerOutputTag.environmentKey] = WorkerOutputTag.identity(of: output[1])
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = cshim_spawn_with_clean_signals(&pid, command[0], argv, envp, devNull, output[1], output[1], 1)
        close(output[1])
        if devNull >= 0 { close(devNull) }
        guard result == 0 else {
            close(output[0])
            throw ValidationErrorMessage(String(cString: strerror(result)))
        }
        state.withLock { $0.pid = pid }
        readOutput(from: output[0], pid: pid)
        reap(pid)
    }

    /// Posts the program's lines as they come (a dedicated thread: the read blocks).
    private func readOutput(from fd: Int32, pid: pid_t) {
        let inbox = self.inbox
        let thread = Thread {
            // A line a Python worker marked is that worker's (WorkerOutputTag); any other, the program's.
            func post(_ line: ArraySlice<UInt8>) {
                let (worker, text) = WorkerOutputTag.split(line)
                inbox.post(.programOutput(pid: worker ?? pid, line: String(decoding: text, as: UTF8.self)))
            }
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = read(fd, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                pending.append(contentsOf: buffer[0..<count])
                var start = 0
                while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    post(pending[start..<newline])
                    start = newline + 1
                }
                pending.removeFirst(start)
                // A line with no end in sight is shown in pieces rather than held without bound.
                if pending.count > 4096 {
                    post(pending[...])
                    pending = []
                }
            }
            if !pending.isEmpty { post(pending[...]) }
            close(fd)
        }
        thread.name = "program output"
        thread.start()
    }

    /// Waits for the program on a thread of its own (never on the cooperative pool).
    private func reap(_ pid: pid_t) {
        let thread = Thread { [self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            state.withLock { $0.status = status }
            exited.lock()
            exited.broadcast()
            exited.unlock()
            inbox.post(.programExited(status: Self.describe(status)))
        }
        thread.name = "program reaper"
        thread.start()
    }
}
