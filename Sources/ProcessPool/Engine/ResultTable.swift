/// A job's item outcomes: per item pending, succeeded or failed, and every success's encoded
/// result in one shared arena. Only the IO thread touches it.
///
/// The tables are ``PageArray``s: a large job's tables go back to the system when it ends, and
/// they are reached through `let` references, so recording a result involves no exclusivity
/// check on a class's stored property (at a million items a second those showed in profiles).
struct ResultTable {
    static let pending: UInt8 = 0
    static let succeeded: UInt8 = 1
    static let failed: UInt8 = 2

    /// Per item: ``pending``, ``succeeded`` or ``failed``.
    let status: PageArray<UInt8>
    /// Per item: where its result starts in ``arena``, and its length.
    let starts: PageArray<Int>
    let lengths: PageArray<Int32>
    let arena = PageArray<UInt8>(repeating: 0, count: 0)

    /// Items the job is expected to have in the end (at least ``count``): what the arena of
    /// small, same-sized results is sized for at the first result.
    private let expected: Int

    /// - Parameter expected: items the job will have in the end, where known (a `map` fed by
    ///   its background encoder starts with none): the tables are sized for them at once,
    ///   rather than grown and copied batch by batch.
    init(count: Int, expected: Int = 0) {
        self.expected = max(count, expected)
        status = PageArray(repeating: Self.pending, count: count, capacity: expected)
        starts = PageArray(repeating: 0, count: count, capacity: expected)
        lengths = PageArray(repeating: 0, count: count, capacity: expected)
    }

    var count: Int { status.count }

    /// Adds `more` pending items at the end.
    func grow(by more: Int) {
        status.append(repeating: Self.pending, count: more)
        starts.append(repeating: 0, count: more)
        lengths.append(repeating: 0, count: more)
    }

    func isFinished(_ index: Int) -> Bool { status[index] != Self.pending }

    /// Records a success; returns false if the item had already finished (a duplicate).
    func recordSuccess(_ index: Int, _ raw: UnsafeRawBufferPointer) -> Bool {
        guard status[index] == Self.pending else { return false }
        if arena.count == 0 && raw.count <= 64 {
            // Small results (numbers, pairs) are usually all the same size: size the arena for
            // all of them at once rather than doubling it, and copying it, a dozen times.
            arena.reserve(max(raw.count, 1) * max(count, expected))
        }
        status[index] = Self.succeeded
        starts[index] = arena.count
        lengths[index] = Int32(raw.count)
        arena.append(contentsOf: raw)
        return true
    }

    /// Records `count` successes from `start` on, `length` bytes each, back to back in `raw`:
    /// one copy into the arena and a fill of the tables.
    /// - Returns: false, recording nothing, if any of them had already finished.
    func recordSuccesses(start: Int, count: Int, length: Int, _ raw: UnsafeRawBufferPointer) -> Bool {
        precondition(start >= 0 && count >= 0 && start + count <= self.count && raw.count == count * length,
                     "ResultTable run out of bounds")
        for index in start..<(start + count) where status[index] != Self.pending { return false }
        if arena.count == 0 && length <= 64 { arena.reserve(max(length, 1) * max(self.count, expected)) }
        var at = arena.count
        arena.append(contentsOf: raw)
        for index in start..<(start + count) {
            status[index] = Self.succeeded
            starts[index] = at
            lengths[index] = Int32(length)
            at += length
        }
        return true
    }

    /// Records a failure; returns false if the item had already finished.
    func recordFailure(_ index: Int) -> Bool {
        guard status[index] == Self.pending else { return false }
        status[index] = Self.failed
        return true
    }

    /// A table of the items from `first` on, their results copied into a fresh arena: what a
    /// long stream job keeps once the items before `first` are delivered.
    func suffix(from first: Int) -> ResultTable {
        let rest = ResultTable(count: count - first)
        for i in first..<count {
            let status = self.status[i]
            rest.status[i - first] = status
            guard status == Self.succeeded else { continue }
            rest.starts[i - first] = rest.arena.count
            rest.lengths[i - first] = lengths[i]
            withResult(i) { rest.arena.append(contentsOf: $0) }
        }
        return rest
    }

    /// The encoded result of a succeeded item, valid while the table lives and records nothing
    /// more (the arena may move when it grows).
    func resultBytes(_ index: Int) -> UnsafeRawBufferPointer {
        arena.withUnsafeBytes(start: starts[index], length: Int(lengths[index])) { $0 }
    }

    /// Calls `body` with the encoded result of a succeeded item.
    func withResult<T>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try arena.withUnsafeBytes(start: starts[index], length: Int(lengths[index]), body)
    }
}
