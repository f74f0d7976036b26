import ProcessPool

/// Every event of a stream, once it ends (the pool has finished).
func collectEvents(_ events: AsyncStream<PoolEvent>) async -> [PoolEvent] {
    var all: [PoolEvent] = []
    for await event in events { all.append(event) }
    return all
}
