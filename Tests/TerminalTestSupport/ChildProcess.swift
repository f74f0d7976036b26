import CSystemShims
import Foundation
import Glibc

/// Runs a program to completion, with output collected through temporary files.
///
/// Not Foundation's `Process`, for two reasons found the hard way: a child spawned from a Swift
/// concurrency thread inherits that thread's signal mask (nearly every signal blocked), and a
/// tmux server started that way never sees SIGCHLD or SIGTERM, so `kill-server` hangs forever;
/// and `Process` itself then never notices that its child exited. Here the child gets an empty
/// signal mask and default dispositions, and is reaped by `waitpid` on its own PID with a
/// deadline. Output goes to files rather than pipes, so a daemon that keeps a descriptor open
/// (the tmux server forks from its client) cannot make a read wait forever.
public enum ChildProcess {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// What the child's standard input is.
    public enum Input {
        /// `/dev/null`.
        case null
        /// A pipe whose write end is already closed (not a terminal, immediate end of file).
        case closedPipe
    }

    /// Runs `path` with `arguments` and waits for it.
    /// - Parameters:
    ///   - environment: the child's whole environment.
    ///   - timeout: how long the child may run before it is killed with SIGKILL and this throws.
    /// - Returns: its exit status (128 + n when killed by signal n) and output.
    public static func run(
        _ path: String,
        _ arguments: [String],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        input: Input = .null,
        timeout: Duration = .seconds(20)
    ) throws -> ProcessOutput {
        let stdout = try TemporaryFile()
        let stderr = try TemporaryFile()

        var inputDescriptor: Int32
        var pipeWriteEnd: Int32 = -1
        switch input {
        case .null:
            inputDescriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
        case .closedPipe:
            var ends: [Int32] = [-1, -1]
            guard cshim_pipe_cloexec(&ends) == 0 else { throw Failure(description: "pipe: errno \(errno)") }
            inputDescriptor = ends[0]
            pipeWriteEnd = ends[1]
        }
        defer { close(inputDescriptor) }
        if pipeWriteEnd >= 0 { close(pipeWriteEnd) }

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = cshim_spawn_with_clean_signals(&pid, path, argv, envp, inputDescriptor,
                                                     stdout.descriptor, stderr.descriptor, 0)
        guard spawned == 0 else {
            throw Failure(description: "cannot run \(path): \(String(cString: strerror(spawned)))")
        }

        let status = try wait(for: pid, timeout: timeout, what: ([path] + arguments).joined(separator: " "))
        return ProcessOutput(status: status, standardOutput: try stdout.contents(), standardError: try stderr.contents())
    }

    /// Reaps `pid`, killing it if it outlives `timeout`.
    private static func wait(for pid: pid_t, timeout: Duration, what: String) throws -> Int32 {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0, errno != EINTR { throw Failure(description: "waitpid: errno \(errno)") }
            if clock.now >= deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0, errno == EINTR {}
                throw Failure(description: "\(what) did not finish within \(timeout); killed")
            }
            usleep(2_000)
        }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}

/// An unlinked temporary file: only its descriptor exists.
private final class TemporaryFile {
    let descriptor: Int32

    init() throws {
        var template = Array("\(NSTemporaryDirectory())/curses-test-XXXXXX".utf8CString)
        descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw ChildProcess.Failure(description: "mkstemp: errno \(errno)") }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    }

    deinit { close(descriptor) }

    /// Everything written to the file.
    func contents() throws -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var offset: off_t = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, offset) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw ChildProcess.Failure(description: "pread: errno \(errno)") }
            if count == 0 { break }
            data.append(contentsOf: buffer[0..<count])
            offset += off_t(count)
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The result of running a program to completion.
public struct ProcessOutput {
    /// The exit status, or 128 + n when killed by signal n.
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
}
