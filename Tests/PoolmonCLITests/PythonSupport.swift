import Foundation
import Glibc

/// `python3` from PATH, for the tests of watching CPython pools; nil (with the reason printed) when
/// there is none, and those tests return early.
enum PythonForTests {
    static let path: String? = {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/python3"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        print("python3 is not on PATH: the tests of watching a Python pool have nothing to run and pass without checking")
        return nil
    }()

    /// The repository's copy of the tutorial (`anchors/asyncmap_py3.py`): `asyncmap_py3.py DELAY`.
    static let tutorial: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Benchmarks/python/asyncmap_py3.py").path

    /// The source of the instrumentation, in the repository.
    static let sourceDirectory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/poolmon/Python")
}

/// A child process with its own environment and its output in files (poolmon or python3).
final class CommandRun: @unchecked Sendable {
    // Safe: each instance is used by one test only.
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, in directory: URL) throws {
        let name = UUID().uuidString
        stdoutURL = directory.appendingPathComponent("\(name).out")
        stderrURL = directory.appendingPathComponent("\(name).err")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, in directory: URL) throws -> CommandRun {
        let run = try CommandRun(executable, arguments, environment: environment, in: directory)
        run.process.waitUntilExit()
        return run
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    var status: Int32 { process.terminationStatus }
}

/// An event log read back as JSON objects.
struct EventLogLines {
    let objects: [[String: Any]]

    init(path: String) {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        objects = text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    func events(_ name: String) -> [[String: Any]] { objects.filter { $0["event"] as? String == name } }

    static func int(_ object: [String: Any], _ key: String) -> Int { (object[key] as? NSNumber)?.intValue ?? -1 }
}
