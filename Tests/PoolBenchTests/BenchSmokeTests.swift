import Foundation
import Testing

/// `poolmon-bench --smoke` runs every workload once at tiny sizes on both sides (CPython's pool
/// too: `python3` must be on the PATH). This checks that the command works and reports every
/// workload; it asserts nothing about speed.
@Suite struct BenchSmokeTests {
    /// Every workload the benchmark must report, one `bench:` line each.
    static let workloads = [
        "map_chunk1", "map_default", "imap_chunk1", "imap_unordered_chunk1", "startup", "tutorial",
        "monitored", "monitored_socket", "latency", "memory_parent", "memory_worker",
    ]

    /// The built `poolmon-bench`, beside the test bundle (the test target depends on it).
    static let executable: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while directory.pathExtension == "xctest" { directory.deleteLastPathComponent() }
        return directory.appendingPathComponent("poolmon-bench").path
    }()

    /// `measure watch_cost` waited for as many events as items, and hung once events came in
    /// runs; it must end and report each of its costs.
    @Test(.timeLimit(.minutes(2)))
    func watchCostEnds() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["measure", "watch_cost", "--items", "20000"]
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        let fields = Dictionary(uniqueKeysWithValues: text.split(separator: " ").compactMap { field -> (String, Double)? in
            let parts = field.split(separator: "=")
            guard parts.count == 2, let value = Double(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
            return (String(parts[0]), value)
        })
        for name in ["fold_ns", "stream_ns", "encode_ns", "parse_ns", "events"] {
            #expect((fields[name] ?? 0) > 0, "\(name) missing or zero in: \(text)")
        }
    }

    @Test func smokeRunReportsEveryWorkload() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["--smoke"]
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        // Progress and failures go to standard error; keep them for the failure message.
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("poolmon-bench-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let errorText = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""

        #expect(process.terminationStatus == 0, "poolmon-bench --smoke failed:\n\(text)\n\(errorText)")
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("bench: ") }
        for name in Self.workloads {
            let line = lines.first { $0.hasPrefix("bench: \(name) ") }
            #expect(line != nil, "no bench line for \(name):\n\(text)\n\(errorText)")
            if let line {
                #expect(line.contains(" ours=") && line.contains(" ratio="), "malformed: \(line)")
            }
        }
    }
}
