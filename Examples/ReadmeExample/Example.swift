import ProcessPool

/// A task's own error: registered with the registry, it reaches the caller as itself.
struct Negative: Error, Codable {
    let value: Int
}

/// A plain Codable struct: it travels in a compact binary form (no JSON, no hand-written coding).
struct Reading: Codable, Sendable {
    var id: Int
    var value: Double
}

enum Tasks {
    static let registry: TaskRegistry = {
        var registry = TaskRegistry()
        registry.register("add") { (p: Pair<Int, Int>) in p.first + p.second }
        registry.register("square") { (x: Int) in x * x }
        registry.registerError(Negative.self)
        registry.register("checked") { (x: Int) throws -> Int in
            if x < 0 { throw Negative(value: x) }
            return x
        }
        registry.register("calibrate") { (r: Reading) in Reading(id: r.id, value: r.value * 2) }
        return registry
    }()
    static let add = PoolTask<Pair<Int, Int>, Int>(name: "add")
    static let square = PoolTask<Int, Int>(name: "square")
    static let checked = PoolTask<Int, Int>(name: "checked")
    static let calibrate = PoolTask<Reading, Reading>(name: "calibrate")
}

@main
struct Example {
    static func main() async throws {
        WorkerProcess.runIfRequested(Tasks.registry)   // in a worker: serves tasks, never returns

        // closes, then awaits the workers without blocking a thread (terminates on a throw)
        try await withProcessPool(.init(workers: 4)) { pool in
            // map_async: all results at the end, in input order
            let sums = try pool.mapAsync(Tasks.add, (0..<1000).map { Pair($0, $0) })
            print(try await sums.value.reduce(0, +))

            // imap: in input order, as the ordered prefix completes
            for try await value in try pool.imap(Tasks.square, Array(1...10)) { print(value) }

            // every item's outcome; a registered error type comes back as itself
            for outcome in try await pool.mapResults(Tasks.checked, [7, -3]) {
                do { print(try outcome.get()) } catch let error as Negative { print("negative: \(error.value)") }
            }

            // any Codable type as argument and result
            print(try await pool.apply(Tasks.calibrate, Reading(id: 1, value: 2.5)).value)

            // imap over a lazy input: read only as the loop takes results (a bounded window), on
            // a thread of the pool, so its closure must be @Sendable (not isolated to main's actor)
            var total = 0
            for try await sum in try pool.imap(Tasks.add, (0..<100_000).lazy.map { @Sendable in Pair($0, 1) }, chunksize: 100) {
                total += sum
            }
            print(total)

            // cancelling the awaiting task (or cancel()) cancels the job: its queued chunks are
            // dropped, and a monitor sees a jobCancelled event
            let big = try pool.mapAsync(Tasks.square, Array(0..<100_000), chunksize: 10)
            let waiter = Task { try await big.value }
            waiter.cancel()
            do { _ = try await waiter.value } catch is CancellationError { print("cancelled") }

            // the event stream: workers, chunks, items, deliveries
            let events = pool.events()
            let printer = Task { for await event in events { print(event.jsonLine) } }
            print(try await pool.apply(Tasks.square, 12))
            printer.cancel()
        }
    }
}
