import Foundation
import Glibc
import ProcessPool

/// Where the test worker executable is, and helpers for tests that use real processes.
public enum TestEnvironment {
    /// `PoolTestWorker`, built beside the test bundle (the test target depends on it).
    public static let workerPath: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // `swift test` runs `<bin>/poolmonPackageTests.xctest`; step out of a bundle directory if any.
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("PoolTestWorker").path
    }()

    /// A pool configuration that runs `PoolTestWorker` and knows the test registry.
    public static func configuration(workers: Int? = 2, maxTasksPerChild: Int? = nil) -> ProcessPool.Configuration {
        var configuration = ProcessPool.Configuration(workers: workers, maxTasksPerChild: maxTasksPerChild)
        configuration.executable = workerPath
        return configuration
    }

    /// A pool running `PoolTestWorker`.
    public static func pool(workers: Int? = 2, maxTasksPerChild: Int? = nil,
                            configure: (inout ProcessPool.Configuration) -> Void = { _ in }) throws -> ProcessPool {
        var configuration = configuration(workers: workers, maxTasksPerChild: maxTasksPerChild)
        configure(&configuration)
        return try ProcessPool(configuration: configuration)
    }

    /// Whether a process with this PID exists (and is not a zombie we failed to reap).
    public static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        // Field 3, after the parenthesised command name, is the state; Z is a zombie.
        guard let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// Polls `condition` until it holds or `seconds` pass.
    /// - Returns: whether it held.
    public static func eventually(within seconds: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(5000)
        }
        return try condition()
    }

    /// A fresh directory for gate files.
    public static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("poolmon-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Creates the file at `path`, opening a gate.
    public static func open(_ gate: String) {
        FileManager.default.createFile(atPath: gate, contents: Data())
    }

    /// The children of this process, by reading /proc.
    public static func childPIDs() -> Set<Int32> {
        let me = getpid()
        var result = Set<Int32>()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == me { result.insert(pid) }
        }
        return result
    }

    /// Open file descriptors of this process.
    public static func openDescriptorCount() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
    }
}

extension PoolEvent.Kind {
    /// The items this event says finished successfully: one for `itemFinished` without an
    /// error, a run for `itemsFinished` (schema 2 reports short items in runs).
    public var successfullyFinishedItems: (job: Int, indices: Range<Int>)? {
        switch self {
        case .itemFinished(let job, let index, _, nil, _): (job, index..<index + 1)
        case .itemsFinished(let job, let start, let count, _, _): (job, start..<start + count)
        default: nil
        }
    }

    /// The items this event says finished, with or without an error.
    public var finishedItemCount: Int {
        switch self {
        case .itemFinished: 1
        case .itemsFinished(_, _, let count, _, _): count
        default: 0
        }
    }
}
