import Foundation
import Glibc
import Testing

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
        // SIGUSR1 then prints a hung Python process's stacks (see `abandon()`).
        var environment = environment ?? ProcessInfo.processInfo.environment
        environment["POOLMON_PYTHON_STACKS"] = "1"
        process.environment = environment
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    /// Runs the command to its end; one that has not ended after `timeout` is taken down with
    /// every process under it, and the test records where they were (``abandon()``).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, in directory: URL,
                    timeout: Duration = .seconds(240)) throws -> CommandRun {
        let run = try CommandRun(executable, arguments, environment: environment, in: directory)
        if !run.waitForExit(timeout: timeout) {
            Issue.record("\(executable) \(arguments.joined(separator: " ")) did not end within \(timeout)\n\(run.abandon())")
        }
        return run
    }

    /// Polls until the process has ended or `timeout` has passed; whether it ended.
    func waitForExit(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return false }
            usleep(20_000)
        }
        return true
    }

    /// Takes down a command that hangs, and every process under it, saying where each was: its
    /// state and kernel wait channel, and (for Python processes, which poolmon's
    /// instrumentation then has print them on SIGUSR1) every thread's Python stack.
    func abandon() -> String {
        let tree = Self.descendants(of: pid)
        var report = ["processes under \(pid):"]
        var pythons: [Int32] = []
        for child in tree {
            let comm = Self.procText(child, "comm").trimmingCharacters(in: .whitespacesAndNewlines)
            let status = Self.procText(child, "status").split(separator: "\n")
            let state = status.first { $0.hasPrefix("State:") } ?? ""
            let shared = status.first { $0.hasPrefix("ShdPnd:") } ?? ""
            report.append("  \(child) \(comm) \(state) wchan=\(Self.procText(child, "wchan")) \(shared)")
            // Each thread's pending, blocked and caught signals: whether a SIGTERM (bit 15, 0x4000)
            // is waiting on a thread that blocks it, say.
            for thread in Self.threads(of: child) {
                let fields = Self.procText(thread, "status", task: child).split(separator: "\n")
                let pick = { (name: String) in fields.first { $0.hasPrefix(name) }.map { String($0) } ?? "" }
                report.append("    thread \(thread) \(pick("Name:")) \(pick("SigPnd:")) \(pick("SigBlk:")) \(pick("SigCgt:"))")
            }
            if comm.hasPrefix("python") { pythons.append(child) }
        }
        // One process at a time, so that their stacks (written to the command's standard error)
        // do not interleave; each given a moment to be written.
        for python in pythons {
            kill(python, SIGUSR1)
            let deadline = ContinuousClock.now + .seconds(2)
            var size = -1
            while ContinuousClock.now < deadline {
                usleep(200_000)
                let now = stderr.utf8.count
                if now == size { break }
                size = now
            }
        }
        for child in tree.reversed() { kill(child, SIGKILL) }
        kill(pid, SIGKILL)
        process.waitUntilExit()
        report.append("standard error (last 8,000 bytes):\n" + String(stderr.suffix(8_000)))
        return report.joined(separator: "\n")
    }

    /// Every process whose parent chain leads to `root`, parents before children.
    static func descendants(of root: Int32) -> [Int32] {
        var parentOf: [Int32: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry) else { continue }
            // The field after the parenthesised command name: state, then the parent's PID.
            let stat = procText(pid, "stat")
            guard let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { parentOf[pid] = parent }
        }
        var result: [Int32] = []
        var frontier = [root]
        while let next = frontier.popLast() {
            let children = parentOf.filter { $0.value == next }.map(\.key).sorted()
            result += children
            frontier += children
        }
        return result
    }

    /// Whether `pid` names a process that has not ended (a zombie has).
    static func isRunning(_ pid: Int32) -> Bool {
        let stat = procText(pid, "stat")
        guard let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    /// `/proc/PID/FILE`, or with `task`, `/proc/TASK/task/PID/FILE` (a thread's).
    private static func procText(_ pid: Int32, _ file: String, task: Int32? = nil) -> String {
        let path = task.map { "/proc/\($0)/task/\(pid)/\(file)" } ?? "/proc/\(pid)/\(file)"
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// The thread IDs of process `pid`.
    private static func threads(of pid: Int32) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap { Int32($0) }.sorted()
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
