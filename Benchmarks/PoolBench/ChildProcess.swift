import CSystemShims
import Glibc

/// Runs a program to the end with `posix_spawnp` (through `CSystemShims`), collecting its standard output and error
/// (merged) and timing it from spawn to reap.
///
/// `posix_spawn` and `waitpid` directly rather than Foundation's `Process`, whose
/// `waitUntilExit` polls a run loop and would add its polling delay to whole-process timings.
struct ChildProcess {
    let status: Int32
    let output: String
    let seconds: Double

    var succeeded: Bool { status == 0 }

    /// The fields of the last `result key=value ...` line of the output.
    var resultFields: [String: Double]? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("result ") }) else { return nil }
        var fields: [String: Double] = [:]
        for pair in line.dropFirst("result ".count).split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, let value = Double(parts[1]) { fields[String(parts[0])] = value }
        }
        return fields
    }

    /// Runs `executable` (a path, or a name looked up in `PATH`) with `arguments`.
    /// - Throws: ``BenchError`` when it cannot be started.
    static func run(_ executable: String, _ arguments: [String]) throws -> ChildProcess {
        var pipeEnds: [Int32] = [-1, -1]
        guard cshim_pipe_cloexec(&pipeEnds) == 0 else { throw BenchError("pipe failed: \(errno)") }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(null) }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let start = MonotonicSeconds.now()
        // Clean signal state: this may run on a Swift concurrency thread, which blocks most
        // signals, and a Python pool whose workers inherit a blocked SIGTERM hangs in `terminate()`.
        let rc = cshim_spawn_with_clean_signals(&pid, executable, argv, environ, null, pipeEnds[1], pipeEnds[1], 1)
        close(pipeEnds[1])
        guard rc == 0 else {
            close(pipeEnds[0])
            throw BenchError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let got = buffer.withUnsafeMutableBytes { read(pipeEnds[0], $0.baseAddress!, $0.count) }
            if got > 0 {
                bytes.append(contentsOf: buffer[0..<got])
            } else if got < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        close(pipeEnds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let seconds = MonotonicSeconds.now() - start
        // A normal exit gives its code; a signal gives 128 + signal, as a shell would.
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return ChildProcess(status: code, output: String(decoding: bytes, as: UTF8.self), seconds: seconds)
    }
}
