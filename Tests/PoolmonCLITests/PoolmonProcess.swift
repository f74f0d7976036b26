import Foundation
import Glibc

/// The built `poolmon` executable, run as a child process with its output going to files that
/// the test can read while it runs.
final class PoolmonProcess: @unchecked Sendable {
    // Safe: each instance is used by one test only.
    static let executable: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while directory.pathExtension == "xctest" { directory.deleteLastPathComponent() }
        return directory.appendingPathComponent("poolmon").path
    }()

    let process = Process()
    let directory: URL
    let stdoutURL: URL
    let stderrURL: URL

    /// - Parameter environment: the child's whole environment (`nil`: this process's).
    init(_ arguments: [String], environment: [String: String]? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("poolmon-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        stdoutURL = directory.appendingPathComponent("stdout")
        stderrURL = directory.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    /// Runs `poolmon` to the end.
    static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> PoolmonProcess {
        let child = try PoolmonProcess(arguments, environment: environment)
        child.process.waitUntilExit()
        return child
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    var status: Int32 { process.terminationStatus }

    func waitForExit() { process.waitUntilExit() }

    /// PIDs named in `Worker <pid> is processing ...` lines.
    var workerPIDsFromOutput: [Int32] {
        stdout.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count >= 4, words[0] == "Worker", words[2] == "is" else { return nil }
            return Int32(words[1])
        }
    }
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(within seconds: Double = 30, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

func processExists(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}
