import CSystemShims
import Foundation
import Glibc
import PoolMonitor
import ProcessPool

/// Our side of each workload, run once in a fresh `poolmon-bench measure` process (so that no
/// measurement inherits another's heap, threads or workers). Each returns the fields of its
/// `result` line.
///
/// As on CPython's side (`Benchmarks/python/pool_bench.py`), the input is built and one `apply`
/// has gone through (the workers are up) before the clock starts, and every sum is checked.
enum OurMeasurements {
    /// - Parameter launcher: where the workers of the throughput and startup workloads start
    ///   (the others always run locally).
    static func run(_ workload: String, items n: Int, workers: Int, launcher: WorkerLauncher = .local) async throws -> [(String, Double)] {
        switch workload {
        case "map_chunk1", "map_default", "imap_chunk1", "imap_unordered_chunk1":
            let seconds = try await throughput(workload, items: n, workers: workers, launcher: launcher)
            return [("value", Double(n) / seconds), ("seconds", seconds)]
        case "monitored":
            return try await monitored(items: n, workers: workers)
        case "monitored_socket":
            return try await monitoredSocket(items: n, workers: workers)
        case "latency":
            return try await latency(items: n, workers: workers)
        case "watch_cost":
            return try await watchCost(items: n, workers: workers)
        case "startup":
            return [("value", try await startup(workers: workers, launcher: launcher))]
        case "memory":
            return try await memory(items: n, workers: workers)
        case "struct_codable", "struct_wire", "struct_floor":
            let seconds = try await structs(workload, items: n, workers: workers)
            return [("value", Double(n) / seconds), ("seconds", seconds)]
        case "codec":
            return try codec(items: n)
        default:
            throw BenchError("unknown workload '\(workload)'")
        }
    }

    private static func throughput(_ workload: String, items n: Int, workers: Int, launcher: WorkerLauncher) async throws -> Double {
        let pairs = BenchTasks.pairs(n)
        return try await withProcessPool(configuration(workers: workers, launcher: launcher)) { pool in
            _ = try await pool.apply(BenchTasks.add, Pair(1, 2))
            let clock = ContinuousClock()
            let start = clock.now
            var total = 0
            switch workload {
            case "map_chunk1":
                total = try await pool.mapAsync(BenchTasks.add, pairs, chunksize: 1).value.reduce(0, +)
            case "map_default":
                total = try await pool.mapAsync(BenchTasks.add, pairs).value.reduce(0, +)
            case "imap_chunk1":
                for try await value in try pool.imap(BenchTasks.add, pairs, chunksize: 1) { total += value }
            default:
                for try await value in try pool.imapUnordered(BenchTasks.add, pairs, chunksize: 1) { total += value }
            }
            let seconds = (clock.now - start).seconds
            try check(total, n)
            return seconds
        }
    }

    /// The binary `Codable` coder alone, in this process: nanoseconds per encode and per decode of
    /// `Reading` (plain `Codable`) and of its `WireCodable` twin, over `n` values (not in the
    /// table; for profiling the coder without the pool around it).
    private static func codec(items n: Int) throws -> [(String, Double)] {
        let clock = ContinuousClock()
        var writer = WireWriter(capacity: 64 * n)
        var start = clock.now
        for i in 0..<n { try BinaryEncoder().encode(Reading(id: i, x: Double(i), y: 0.5, ok: true), to: &writer) }
        let codableEncode = (clock.now - start).seconds
        var total = 0
        start = clock.now
        try writer.withUnsafeBytes { raw in
            var reader = WireReader(raw)
            for _ in 0..<n { total += try BinaryDecoder().decode(Reading.self, from: &reader).id }
        }
        let codableDecode = (clock.now - start).seconds
        guard total == n * (n - 1) / 2 else { throw BenchError("wrong sum: \(total)") }
        writer.removeAll(keepingCapacity: true)
        start = clock.now
        for i in 0..<n { WireReading(id: i, x: Double(i), y: 0.5, ok: true).encode(to: &writer) }
        let wireEncode = (clock.now - start).seconds
        total = 0
        start = clock.now
        try writer.withUnsafeBytes { raw in
            var reader = WireReader(raw)
            for _ in 0..<n { total += try WireReading(from: &reader).id }
        }
        let wireDecode = (clock.now - start).seconds
        guard total == n * (n - 1) / 2 else { throw BenchError("wrong sum: \(total)") }
        let ns = { (seconds: Double) in seconds * 1e9 / Double(n) }
        return [("codable_encode_ns", ns(codableEncode)), ("codable_decode_ns", ns(codableDecode)),
                ("wire_encode_ns", ns(wireEncode)), ("wire_decode_ns", ns(wireDecode))]
    }

    /// `map_async` (default chunk size) of a tiny struct through a task returning one: plain
    /// `Codable` (the binary Codable path), its `WireCodable` twin, or the twin with Swift's
    /// Codable dispatch added (`struct_floor`, see ``DispatchFloor``). The clock covers encoding
    /// the arguments and decoding the results, as CPython's covers pickling.
    private static func structs(_ workload: String, items n: Int, workers: Int) async throws -> Double {
        try await withProcessPool(configuration(workers: workers)) { pool in
            _ = try await pool.apply(BenchTasks.add, Pair(1, 2))
            let clock = ContinuousClock()
            var total = 0
            let start: ContinuousClock.Instant
            switch workload {
            case "struct_codable":
                let input = (0..<n).map { Reading(id: $0, x: Double($0), y: 0.5, ok: true) }
                start = clock.now
                total = try await pool.mapAsync(BenchTasks.shiftCodable, input).value.reduce(0) { $0 + $1.id }
            case "struct_floor":
                let input = (0..<n).map { FloorReading(WireReading(id: $0, x: Double($0), y: 0.5, ok: true)) }
                start = clock.now
                total = try await pool.mapAsync(BenchTasks.shiftFloor, input).value.reduce(0) { $0 + $1.wire.id }
            default:
                let input = (0..<n).map { WireReading(id: $0, x: Double($0), y: 0.5, ok: true) }
                start = clock.now
                total = try await pool.mapAsync(BenchTasks.shiftWire, input).value.reduce(0) { $0 + $1.id }
            }
            let seconds = (clock.now - start).seconds
            guard total == n * (n + 1) / 2 else { throw BenchError("wrong sum: \(total)") }
            return seconds
        }
    }

    /// The order of the watched (`true`) and unwatched runs of the watched rows, after a
    /// warm-up run of each side: each side holds positions that add up to the same, so a steady
    /// drift in the machine's speed weighs on both alike.
    /// Twelve of each: within one process, runs of one build still vary by ±10%, and with eight
    /// of each the ratio of one process still ranged 0.88–1.05 over twelve processes of one build.
    static let watchOrder = Array(repeating: [false, true, true, false], count: 6).flatMap { $0 }

    /// The fields of a watched row's result line: the watched side's throughput as `value`, the
    /// unwatched side's as `unwatched_value` (medians of their runs).
    private static func watchedFields(items n: Int, watched: [Double], unwatched: [Double], caughtUp: [Double],
                                      events: Int, dropped: Int) -> [(String, Double)] {
        let (seconds, plain) = (watched.median ?? .nan, unwatched.median ?? .nan)
        return [("value", Double(n) / seconds), ("seconds", seconds), ("caught_up", caughtUp.median ?? -1),
                ("events", Double(events)), ("dropped", Double(dropped)),
                ("unwatched_value", Double(n) / plain), ("unwatched_seconds", plain)]
    }

    /// `map_chunk1` with a subscriber folding every event into the monitor's state, against the
    /// same pool unwatched, in one process (``watchOrder``): the pool's throughput while watched
    /// (the clock stops when the results are in, as for `map_chunk1`), and how long after the
    /// start the watcher had folded the job's completion (`caught_up`).
    private static func monitored(items n: Int, workers: Int) async throws -> [(String, Double)] {
        let pairs = BenchTasks.pairs(n)
        return try await withProcessPool(configuration(workers: workers)) { pool in
            _ = try await pool.apply(BenchTasks.add, Pair(1, 2))
            _ = try await timedRun(pool, pairs)
            var (watched, unwatched, caughtUp, events) = ([Double](), [Double](), [Double](), 0)
            for watching in watchOrder {
                if watching {
                    let run = try await watchedRun(pool, pairs, workers: workers)
                    watched.append(run.seconds)
                    caughtUp.append(run.caughtUp)
                    events = run.events
                } else {
                    unwatched.append(try await timedRun(pool, pairs))
                }
            }
            return watchedFields(items: n, watched: watched, unwatched: unwatched, caughtUp: caughtUp, events: events,
                                 dropped: pool.droppedEventCount)
        }
    }

    /// One `map_chunk1` of `pairs` on `pool` (watched or not, as the pool is), its seconds.
    private static func timedRun(_ pool: ProcessPool, _ pairs: [Pair<Int, Int>]) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let total = try await pool.mapAsync(BenchTasks.add, pairs, chunksize: 1).value.reduce(0, +)
        let seconds = (clock.now - start).seconds
        try check(total, pairs.count)
        return seconds
    }

    /// One `map_chunk1` of `pairs` with a subscriber folding its events, as the monitor reads
    /// them (a batch per delivery). The subscription ends with the run.
    private static func watchedRun(_ pool: ProcessPool, _ pairs: [Pair<Int, Int>], workers: Int) async throws
        -> (seconds: Double, caughtUp: Double, events: Int)
    {
        let batches = pool.eventBatches(bufferingLimit: 1 << 22)
        let clock = ContinuousClock()
        let start = clock.now
        let watcher = Task {
            var state = MonitorState(settings: MonitorSettings(workers: workers, chunksize: .fixed(1)))
            reading: for await batch in batches {
                for event in batch {
                    state.apply(event)
                    if case .jobCompleted = event.kind { break reading }
                }
            }
            return (state.eventCount, (clock.now - start).seconds)
        }
        let total = try await pool.mapAsync(BenchTasks.add, pairs, chunksize: 1).value.reduce(0, +)
        let seconds = (clock.now - start).seconds
        let (folded, caughtUp) = await watcher.value
        try check(total, pairs.count)
        return (seconds, caughtUp, folded)
    }

    /// `map_chunk1` watched the way `poolmon watch -- CMD` watches a program: the pool connects to
    /// a Unix socket (`Configuration.monitorSocket`), and a reader thread on the other end reads
    /// every line, parses it with `ChannelMessage(lineUTF8:)` and folds its events into the monitor's
    /// state, as `PoolConnections` and the monitor do. The unwatched side is a second pool in the
    /// same process, with no socket; the runs alternate as in ``watchOrder``.
    private static func monitoredSocket(items n: Int, workers: Int) async throws -> [(String, Double)] {
        let pairs = BenchTasks.pairs(n)
        let directory = FileManager.default.temporaryDirectory.path + "/poolmon-bench-\(getpid())"
        mkdir(directory, 0o700)
        let path = directory + "/monitor.sock"
        unlink(path)
        let listener = cshim_unix_listen(path, 4)
        guard listener >= 0 else { throw BenchError("cannot listen at \(path)") }
        defer { close(listener); unlink(path); rmdir(directory) }
        let reader = SocketWatcher(listener: listener, workers: workers)
        reader.start()
        var watchedConfiguration = configuration(workers: workers)
        watchedConfiguration.monitorSocket = path
        var (watched, unwatched, starts) = ([Double](), [Double](), [UInt64]())
        try await withProcessPool(configuration(workers: workers)) { plain in
            try await withProcessPool(watchedConfiguration) { pool in
                _ = try await plain.apply(BenchTasks.add, Pair(1, 2))
                _ = try await pool.apply(BenchTasks.add, Pair(1, 2))
                _ = try await timedRun(plain, pairs)
                for watching in watchOrder {
                    if watching {
                        starts.append(SocketWatcher.now())
                        watched.append(try await timedRun(pool, pairs))
                    } else {
                        unwatched.append(try await timedRun(plain, pairs))
                    }
                }
            }
        }
        let (events, completions, dropped) = reader.finish()
        // The watched pool's jobs complete in turn: its `apply`, then each run's map. A run's
        // caught_up is -1 when the watcher never saw its completion (the link gives up on a
        // monitor that is more than two seconds behind a finished pool).
        let caughtUp = starts.indices.map { run in
            run + 1 < completions.count ? Double(completions[run + 1] &- starts[run]) / 1e9 : -1
        }
        return watchedFields(items: n, watched: watched, unwatched: unwatched, caughtUp: caughtUp, events: events,
                             dropped: dropped)
    }

    /// Mixed fast and slow items through `imapUnordered` (chunk size 1): for each, the time from
    /// its end in the worker (the task returns it) to its result in the caller; p50 and p99 in ms.
    private static func latency(items n: Int, workers: Int) async throws -> [(String, Double)] {
        let input = BenchTasks.mixed(n)
        return try await withProcessPool(configuration(workers: workers)) { pool in
            _ = try await pool.apply(BenchTasks.add, Pair(1, 2))
            var delays: [Double] = []
            delays.reserveCapacity(n)
            for try await ended in try pool.imapUnordered(BenchTasks.stampedSleep, input, chunksize: 1) {
                var now = timespec()
                clock_gettime(CLOCK_MONOTONIC, &now)
                delays.append(Double(now.tv_sec * 1_000_000_000 + now.tv_nsec - ended) / 1e6)
            }
            guard delays.count == n else { throw BenchError("latency: \(delays.count) results of \(n)") }
            delays.sort()
            return [("p99", percentile(delays, 0.99)), ("p50", percentile(delays, 0.50)),
                    ("max", delays.last ?? 0)]
        }
    }

    private static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
    }

    /// Where a watcher's time goes: the events of a `map_chunk1` run, read from the stream after
    /// the run (`stream_ns` per event: the stream's own cost), then folded again from an array
    /// (`fold_ns` per event: `MonitorState.apply` alone), and written as JSON lines and parsed
    /// back (`encode_ns`, `parse_ns`: the socket's part).
    private static func watchCost(items n: Int, workers: Int) async throws -> [(String, Double)] {
        let pairs = BenchTasks.pairs(n)
        return try await withProcessPool(configuration(workers: workers)) { pool in
            _ = try await pool.apply(BenchTasks.add, Pair(1, 2))
            let events = pool.events(bufferingLimit: 1 << 22)
            _ = try await pool.mapAsync(BenchTasks.add, pairs, chunksize: 1).value
            _ = try await pool.apply(BenchTasks.add, Pair(1, 2))
            let clock = ContinuousClock()
            let (all, streamSeconds) = await Task.detached {
                var all: [PoolEvent] = []
                all.reserveCapacity(n / 64 + 1024)
                let start = clock.now
                // Two jobs complete: the map, then the `apply` after it. (Events come coarse, a
                // run of items each, so their count says nothing about where the map ends.)
                var completed = 0
                for await event in events {
                    all.append(event)
                    if case .jobCompleted = event.kind { completed += 1 }
                    if completed == 2 { break }
                }
                return (all, (clock.now - start).seconds)
            }.value
            var state = MonitorState(settings: MonitorSettings(workers: workers, chunksize: .fixed(1)))
            let start = clock.now
            for event in all { state.apply(event) }
            let foldSeconds = (clock.now - start).seconds
            // The socket's part: each event to its JSON line and back (what `poolmon watch`
            // and the CPython instrumentation's monitor read).
            // The best of ten passes each: one pass over a few thousand lines takes milliseconds.
            var lines: [String] = []
            var encodeSeconds = Double.infinity
            for _ in 0..<10 {
                let encodeStart = clock.now
                lines = all.map(\.jsonLine)
                encodeSeconds = min(encodeSeconds, (clock.now - encodeStart).seconds)
            }
            var parseSeconds = Double.infinity
            for _ in 0..<10 {
                let parseStart = clock.now
                var parsed = 0
                for line in lines where (try? PoolEvent(jsonLine: line)) != nil { parsed += 1 }
                parseSeconds = min(parseSeconds, (clock.now - parseStart).seconds)
                guard parsed == lines.count else { throw BenchError("\(lines.count - parsed) event lines did not parse") }
            }
            let count = Double(all.count)
            return [("value", foldSeconds * 1e9 / count), ("fold_ns", foldSeconds * 1e9 / count),
                    ("stream_ns", streamSeconds * 1e9 / count), ("encode_ns", encodeSeconds * 1e9 / count),
                    ("parse_ns", parseSeconds * 1e9 / count), ("events", count)]
        }
    }

    private static func startup(workers: Int, launcher: WorkerLauncher) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let pool = try ProcessPool(configuration: configuration(workers: workers, launcher: launcher))
        let three = try await pool.apply(BenchTasks.add, Pair(1, 2))
        pool.close()
        try await pool.join()
        let seconds = (clock.now - start).seconds
        guard three == 3 else { throw BenchError("apply gave \(three)") }
        return seconds
    }

    /// The parent's RSS with the pool up, then after `n` tasks (their input and results dropped),
    /// its peak, and a worker's RSS.
    private static func memory(items n: Int, workers: Int) async throws -> [(String, Double)] {
        try await withProcessPool(configuration(workers: workers)) { pool in
            _ = try await pool.apply(BenchTasks.add, Pair(1, 2))
            let before = ProcessMemory.residentMegabytes()
            let total = try await pool.mapAsync(BenchTasks.add, BenchTasks.pairs(n)).value.reduce(0, +)
            try check(total, n)
            // One more round trip: the IO thread has then finished with the job (it resolves the
            // result before it lets go of the job's buffers).
            _ = try await pool.apply(BenchTasks.add, Pair(1, 2))
            let after = ProcessMemory.residentMegabytes()
            let peak = ProcessMemory.residentMegabytes(field: "VmHWM")
            let worker = pool.workerPIDs.first.map { ProcessMemory.residentMegabytes(pid: "\($0)") } ?? 0
            return [("before", before), ("after", after), ("peak", peak), ("worker", worker)]
        }
    }

    /// The pool's default set-up, with the worker executable named by its resolved path rather
    /// than `/proc/self/exe`: the same file, but under valgrind `/proc/self/exe` is valgrind.
    private static func configuration(workers: Int, launcher: WorkerLauncher = .local) -> ProcessPool.Configuration {
        var configuration = ProcessPool.Configuration(workers: workers)
        configuration.executable = ProbeRunner.ownExecutable()
        configuration.launcher = launcher
        return configuration
    }

    private static func check(_ total: Int, _ n: Int) throws {
        guard total == n * n else { throw BenchError("wrong sum: \(total), expected \(n * n)") }
    }
}
