import Glibc

/// `Benchmarks/C/pipe_limit.c`, compiled with the system `cc` into a temporary directory at the
/// start of a run: the "limit" column, what a bare C pool gets through the same pipes.
enum PipeLimitProgram {
    /// - Returns: the path of the built program.
    /// - Throws: ``BenchError`` when the source is missing or `cc` fails (or is absent).
    static func build() throws -> String {
        let source = sourcePath()
        guard access(source, R_OK) == 0 else { throw BenchError("no \(source)", skip: true) }
        var template = Array("/tmp/poolmon-bench-limit-XXXXXX".utf8CString)
        guard let directory = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchError("cannot make a temporary directory")
        }
        let program = String(cString: directory) + "/pipe_limit"
        let cc = try ChildProcess.run("cc", ["-O2", "-o", program, source])
        guard cc.succeeded else { throw BenchError("cc failed (status \(cc.status)): \(cc.output.suffix(400))", skip: true) }
        return program
    }

    /// `Benchmarks/C/pipe_limit.c` of the package this file was compiled from, else of the
    /// current directory.
    static func sourcePath() -> String {
        let here = #filePath  // …/Benchmarks/PoolBench/PipeLimitProgram.swift
        let parts = here.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count > 2 {
            let path = parts.dropLast(2).joined(separator: "/") + "/C/pipe_limit.c"
            if access(path, R_OK) == 0 { return path }
        }
        return "Benchmarks/C/pipe_limit.c"
    }
}
