import ArgumentParser
import Foundation
import ProcessPool

/// `poolmon-bench window`: `imap` over a lazy input far larger than memory should allow, to show
/// the stream's window at work: the parent's RSS growth stays flat however long the input, and
/// the workers stay busy. Not part of `swift test`.
struct WindowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "window",
        abstract: "imap over a lazy input of --items items; report the parent's RSS growth and the throughput."
    )

    @Option(help: "Items in the lazy input.")
    var items = 10_000_000

    @Option(help: "Items per chunk.")
    var chunksize = 1

    @Option(help: "Worker processes (default: the CPU count).")
    var workers: Int?

    @Flag(help: "Read the input as an AsyncSequence rather than a lazy Sequence.")
    var async = false

    @Flag(help: "imapUnordered rather than imap.")
    var unordered = false

    func validate() throws {
        guard items > 0, chunksize > 0, (workers ?? 1) > 0 else { throw ValidationError("every option must be positive") }
    }

    func run() async throws {
        let pool = try ProcessPool(workers: workers)
        defer { pool.terminate() }
        // One warm-up job, so that the baseline includes what any run of the pool costs.
        _ = try await pool.imap(BenchTasks.add, (0..<10_000).lazy.map { Pair($0, $0 + 1) }).collect()
        let baseline = ProcessMemory.residentMegabytes()
        let started = MonotonicSeconds.now()
        let n = items
        let stream: ResultStream<Int>
        if async {
            let input = LazyPairs(count: n)
            stream = unordered ? try pool.imapUnordered(BenchTasks.add, input, chunksize: chunksize)
                               : try pool.imap(BenchTasks.add, input, chunksize: chunksize)
        } else {
            let input = (0..<n).lazy.map { Pair($0, $0 + 1) }
            stream = unordered ? try pool.imapUnordered(BenchTasks.add, input, chunksize: chunksize)
                               : try pool.imap(BenchTasks.add, input, chunksize: chunksize)
        }
        let returned = MonotonicSeconds.now() - started
        var peak = baseline
        var sum = 0
        var count = 0
        for try await value in stream {
            sum &+= value
            count += 1
            if count % 100_000 == 0 { peak = max(peak, ProcessMemory.residentMegabytes()) }
        }
        let elapsed = MonotonicSeconds.now() - started
        peak = max(peak, ProcessMemory.residentMegabytes())
        let right = count == n && sum == n &* n
        print("items \(n)  chunksize \(chunksize)  workers \(pool.workerCount)  input \(async ? "AsyncSequence" : "lazy Sequence")"
            + "  \(unordered ? "imapUnordered" : "imap")")
        print(String(format: "imap returned after %.4f s; all results after %.2f s (%.0f tasks/s); results %@",
                     returned, elapsed, Double(n) / elapsed, right ? "right" : "WRONG (\(count) items, sum \(sum))"))
        print(String(format: "parent RSS: %.1f MB before, peak %.1f MB while streaming: growth %.1f MB", baseline, peak, peak - baseline))
        print(String(format: "bench: window_rss growth_mb=%.1f tasks_per_s=%.0f", peak - baseline, Double(n) / elapsed))
        if !right { throw ExitCode(1) }
    }
}

/// `(i, i + 1)` for `i` in `0..<count`, as an `AsyncSequence` produced on demand.
struct LazyPairs: AsyncSequence, Sendable {
    typealias Element = Pair<Int, Int>
    let count: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let count: Int
        var position = 0

        mutating func next() async -> Pair<Int, Int>? {
            guard position < count else { return nil }
            defer { position += 1 }
            return Pair(position, position + 1)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(count: count) }
}
