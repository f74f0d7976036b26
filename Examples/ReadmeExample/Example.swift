import ProcessPool

enum Tasks {
    static let registry: TaskRegistry = {
        var registry = TaskRegistry()
        registry.register("add") { (p: Pair<Int, Int>) in p.first + p.second }
        registry.register("square") { (x: Int) in x * x }
        return registry
    }()
    static let add = PoolTask<Pair<Int, Int>, Int>(name: "add")
    static let square = PoolTask<Int, Int>(name: "square")
}

@main
struct Example {
    static func main() async throws {
        WorkerProcess.runIfRequested(Tasks.registry)   // in a worker: serves tasks, never returns

        try await withProcessPool(.init(workers: 4)) { pool in
            // map_async: all results at the end, in input order
            let sums = try pool.mapAsync(Tasks.add, (0..<1000).map { Pair($0, $0) })
            print(try await sums.value.reduce(0, +))

            // imap: in input order, as the ordered prefix completes
            for try await value in try pool.imap(Tasks.square, Array(1...10)) { print(value) }

            // the event stream: workers, chunks, items, deliveries
            let events = pool.events()
            let printer = Task { for await event in events { print(event.jsonLine) } }
            print(try await pool.apply(Tasks.square, 12))
            printer.cancel()
        }
    }
}
