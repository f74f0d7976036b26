import CSystemShims
import Foundation
import Glibc
import ProcessPool
import Synchronization

/// `poolmon run [--events FILE] -- CMD`: runs a program with a monitor socket but no screen.
///
/// The program's standard input, output and error are poolmon's own (its output passes through
/// unchanged); every pool it creates (a Swift `ProcessPool`, or a Python `multiprocessing.Pool`
/// through ``PythonInstrumentation``) connects to the socket, and each pool's events go to the
/// event log. poolmon exits with the program's status (128 + signal when it was killed); a signal
/// that would stop poolmon is passed on to the program first (SIGTERM, then SIGKILL after 3 s).
final class HeadlessProgram: Sendable {
    private let command: [String]
    private let socketPath: String
    private let connections: PoolConnections
    private let inbox = MonitorInbox()
    private let python: PythonInstrumentation
    private let child = Mutex<pid_t?>(nil)

    /// - Throws: ``ValidationErrorMessage`` when the socket or the instrumentation cannot be made.
    init(command: [String], eventLog: EventLogWriter?) throws {
        self.command = command
        let (path, listener) = try PoolConnections.listen(named: "run")
        socketPath = path
        connections = PoolConnections(inbox: inbox, listener: listener, eventLog: eventLog)
        python = try PythonInstrumentation()
    }

    /// Runs the program to its end.
    /// - Returns: its wait status.
    /// - Throws: ``ValidationErrorMessage`` when it cannot be started.
    func run() async throws -> Int32 {
        connections.start()
        // Nobody shows the messages: only the event log (written by the connections) matters.
        let draining = Thread { [inbox, connections] in
            while !connections.isStopped {
                _ = inbox.drain()
                usleep(50_000)
            }
        }
        draining.name = "inbox drain"
        draining.start()
        defer { finish() }
        var environment = python.environment(ProcessInfo.processInfo.environment)
        environment[MonitorChannel.socketEnvironmentKey] = socketPath
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = cshim_spawn_with_clean_signals(&pid, command[0], argv, envp, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, 1)
        guard result == 0 else {
            throw ValidationErrorMessage("cannot start \(command[0]): \(String(cString: strerror(result)))")
        }
        child.withLock { $0 = pid }
        let spawned = pid
        let status = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            // waitpid blocks: a thread of its own, never the cooperative pool.
            let reaper = Thread {
                var status: Int32 = 0
                while waitpid(spawned, &status, 0) < 0 && errno == EINTR {}
                continuation.resume(returning: status)
            }
            reaper.name = "program reaper"
            reaper.start()
        }
        child.withLock { $0 = nil }
        // The program's pools close their connections as it exits: read all they sent (a busy
        // machine may leave us far behind a pool of tiny tasks), but not forever (a process the
        // program left behind may hold a connection open).
        let deadline = Date(timeIntervalSinceNow: 30)
        while connections.connectionCount > 0 && Date() < deadline { usleep(10_000) }
        return status
    }

    /// Stops the program if it still runs (a signal stopped poolmon): SIGTERM, then SIGKILL after 3 s.
    func stopProgram() {
        guard let pid = child.withLock({ $0 }) else { return }
        Glibc.kill(pid, SIGTERM)
        let deadline = Date(timeIntervalSinceNow: 3)
        while Date() < deadline {
            if Glibc.kill(pid, 0) != 0 { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(10_000)
        }
        Glibc.kill(pid, SIGKILL)
    }

    private func finish() {
        connections.stop()
        unlink(socketPath)
        python.remove()
    }
}
