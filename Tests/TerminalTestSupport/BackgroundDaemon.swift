import CSystemShims
import Foundation
import Glibc

/// A daemon a test starts in the foreground of its own (`sshd -D`, `munged -F`, `slurmd -D`),
/// with clean signal state, its output in a log file, and stopped by the test: SIGTERM, then
/// SIGKILL if it lingers, then reaped. Only the PID it started is ever signalled.
public final class BackgroundDaemon: @unchecked Sendable {
    // Safe: `pid` and `stopped` are touched only under `lock`.
    public let name: String
    public let logPath: String
    private let lock = NSLock()
    private var pid: pid_t
    private var stopped = false

    /// Starts `path` with `arguments`; standard output and error go to `logPath`.
    /// - Throws: ``ChildProcess/Failure`` when it cannot be started.
    public init(_ path: String, _ arguments: [String], logPath: String,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        name = (path as NSString).lastPathComponent
        self.logPath = logPath
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw ChildProcess.Failure(description: "cannot open \(logPath): errno \(errno)") }
        defer { close(log) }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(null) }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let rc = cshim_spawn_with_clean_signals(&child, path, argv, envp, null, log, log, 0)
        guard rc == 0 else { throw ChildProcess.Failure(description: "cannot start \(path): \(String(cString: strerror(rc)))") }
        pid = child
    }

    deinit { stop() }

    /// Whether it is still running (not exited; reaps it if it has).
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            stopped = true
            return false
        }
        return true
    }

    /// What it wrote so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGTERM, up to 5 s to exit, then SIGKILL; always reaped.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        kill(pid, SIGTERM)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped < 0 && errno == ECHILD) { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}
