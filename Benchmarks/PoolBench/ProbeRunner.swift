import Glibc

/// Runs one side of a workload once, each in a fresh process, and returns its result fields.
struct ProbeRunner {
    /// A probe at a size: what a round's cache of results is keyed by.
    struct Key: Hashable {
        let probe: Workload.Probe
        let items: Int
    }

    let ownExecutable: String
    let python: String
    let scripts: String
    let poolmon: String
    let workers: Int

    /// - Throws: ``BenchError`` when the program cannot start, fails, or prints no result.
    func run(_ probe: Workload.Probe, items: Int) throws -> [String: Double] {
        switch probe {
        case .ours(let name):
            return try fields(of: ChildProcess.run(
                ownExecutable, ["measure", name, "--items", "\(items)", "--workers", "\(workers)"]))
        case .python(let name):
            return try fields(of: ChildProcess.run(python, [scripts + "/pool_bench.py", name, "\(items)", "\(workers)"]))
        case .poolmonTutorial:
            guard access(poolmon, X_OK) == 0 else {
                throw BenchError("no poolmon at \(poolmon): build it first (swift build -c release --product poolmon) "
                                 + "or pass --poolmon", skip: true)
            }
            // Python's Pool() takes every CPU; so does poolmon without --workers.
            return try tutorial(ChildProcess.run(poolmon, ["run", "--quiet", "--delay", "0"]))
        case .pythonTutorial:
            return try tutorial(ChildProcess.run(python, [scripts + "/asyncmap_py3.py", "0"]))
        case .pipeLimit:
            throw BenchError("the pipe limit runs through runLimit")
        }
    }

    /// The C pool of `Benchmarks/C/pipe_limit.c` (built as `program`) at the in-flight depth our
    /// pool would use: up to 1,024 chunks and 8,192 items per worker, at least one chunk.
    func runLimit(_ program: String, _ probe: Workload.Probe, items: Int) throws -> [String: Double] {
        guard case .pipeLimit(let fixed) = probe else { throw BenchError("not a pipe-limit probe") }
        let chunk = fixed ?? Self.defaultChunksize(items: items, workers: workers)
        let depth = max(1, min(1024, 8192 / chunk))
        return try fields(of: ChildProcess.run(program, ["\(items)", "\(chunk)", "\(workers)", "\(depth)"]))
    }

    /// `map_async`'s default: `divmod(n, workers * 4)`, plus one if there is a remainder.
    static func defaultChunksize(items: Int, workers: Int) -> Int {
        let (chunk, extra) = items.quotientAndRemainder(dividingBy: workers * 4)
        return max(1, extra > 0 ? chunk + 1 : chunk)
    }

    private func fields(of child: ChildProcess) throws -> [String: Double] {
        guard child.succeeded, let fields = child.resultFields else {
            throw BenchError("exit status \(child.status): \(child.output.suffix(600))")
        }
        return fields
    }

    /// The whole run's time, once its output shows the tutorial's two totals.
    private func tutorial(_ child: ChildProcess) throws -> [String: Double] {
        guard child.succeeded,
              child.output.contains("Sum of sums of 'a' and 'b' is 210"),
              child.output.contains("Sum of products of 'a' and 'b' is 935")
        else {
            throw BenchError("tutorial run failed (status \(child.status)): \(child.output.suffix(600))")
        }
        return ["value": child.seconds]
    }

    func pythonVersion() -> String {
        guard let child = try? ChildProcess.run(python, ["--version"]), child.succeeded else { return "\(python): not found" }
        return child.output.trimmingWhitespace()
    }

    /// This program's path, from `/proc/self/exe`.
    static func ownExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A program built beside this one (same build directory).
    static func besideOwnExecutable(_ name: String) -> String {
        let own = ownExecutable()
        guard let slash = own.lastIndex(of: "/") else { return name }
        return String(own[...slash]) + name
    }

    /// `Benchmarks/python` of the package this file was compiled from, else of the current directory.
    static func defaultScriptsDirectory() -> String {
        let source = #filePath  // …/Benchmarks/PoolBench/ProbeRunner.swift
        let parts = source.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count > 2 {
            let directory = parts.dropLast(2).joined(separator: "/") + "/python"
            if access(directory + "/pool_bench.py", R_OK) == 0 { return directory }
        }
        return "Benchmarks/python"
    }
}
