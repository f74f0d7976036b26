/// A job's item outcomes: per item pending, succeeded or failed, and every success's encoded
/// result in one shared arena. Only the IO thread touches it.
///
/// The tables are ``PageArray``s: a large job's tables go back to the system when it ends, and
/// they are reached through `let` references, so recording a result involves no exclusivity
/// check on a class's stored property (at a million items a second those showed in profiles).
///
/// Small results of one size (numbers, pairs: the common case of a big `map`) are laid out
/// densely: item `i`'s result at `i × length` in the arena, sized for the whole job at the first
/// success, so that no start and length is written per item (12 bytes an item, and the pages
/// they fault in, on the IO thread that the workers wait for). The first result of another size,
/// or growth past what the arena was sized for, turns the table into the general layout (per
/// item starts and lengths), once.
struct ResultTable {
    static let pending: UInt8 = 0
    static let succeeded: UInt8 = 1
    static let failed: UInt8 = 2

    /// Per item: ``pending``, ``succeeded`` or ``failed``.
    let status: PageArray<UInt8>
    /// Per item, in the general layout only: where its result starts in ``arena``, and its length.
    let starts: PageArray<Int>
    let lengths: PageArray<Int32>
    let arena = PageArray<UInt8>(repeating: 0, count: 0)
    private let layout = Layout()

    /// How results lie in the arena. A class behind a `let`, its fields free of run-time
    /// exclusivity checks: only the IO thread touches a table, and never re-entrantly.
    private final class Layout {
        /// 0 before the first success; the length of every result while dense; -1 once general.
        @exclusivity(unchecked) var mode = 0
        /// Items the dense arena has room for.
        @exclusivity(unchecked) var denseItems = 0
    }

    /// Results at most this long are laid out densely.
    static let denseLengthLimit = 64

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

    /// Whether results lie at `index × length` (for a test).
    var isDense: Bool { layout.mode > 0 }

    /// Adds `more` pending items at the end.
    func grow(by more: Int) {
        status.append(repeating: Self.pending, count: more)
        starts.append(repeating: 0, count: more)
        lengths.append(repeating: 0, count: more)
        if layout.mode > 0 && count > layout.denseItems { makeGeneral() }
    }

    func isFinished(_ index: Int) -> Bool { status[index] != Self.pending }

    /// Decides the layout at the first success: dense for a small result, sized for every item
    /// the job is expected to have (the arena's pages are mapped as they are written).
    private func firstSuccess(length: Int) {
        guard layout.mode == 0 else { return }
        if (1...Self.denseLengthLimit).contains(length) {
            let items = max(count, expected)
            layout.mode = length
            layout.denseItems = items
            arena.append(repeating: 0, count: items * length)
        } else {
            layout.mode = -1
        }
    }

    /// Turns a dense table into the general layout: the starts and lengths of the successes so
    /// far, where the dense layout put them (new results go after them, at the arena's end).
    private func makeGeneral() {
        let length = layout.mode
        guard length > 0 else { return }
        for index in 0..<min(count, layout.denseItems) where status[index] == Self.succeeded {
            starts[index] = index * length
            lengths[index] = Int32(length)
        }
        layout.mode = -1
    }

    /// Records a success; returns false if the item had already finished (a duplicate).
    func recordSuccess(_ index: Int, _ raw: UnsafeRawBufferPointer) -> Bool {
        guard status[index] == Self.pending else { return false }
        firstSuccess(length: raw.count)
        if layout.mode == raw.count && index < layout.denseItems {
            arena.write(raw, at: index * raw.count)
            status[index] = Self.succeeded
            return true
        }
        makeGeneral()
        status[index] = Self.succeeded
        starts[index] = arena.count
        lengths[index] = Int32(raw.count)
        arena.append(contentsOf: raw)
        return true
    }

    /// Records `count` successes from `start` on, `length` bytes each, back to back in `raw`:
    /// one copy into the arena (and, in the general layout, a fill of the tables).
    /// - Returns: false, recording nothing, if any of them had already finished.
    func recordSuccesses(start: Int, count: Int, length: Int, _ raw: UnsafeRawBufferPointer) -> Bool {
        precondition(start >= 0 && count >= 0 && start + count <= self.count && raw.count == count * length,
                     "ResultTable run out of bounds")
        for index in start..<(start + count) where status[index] != Self.pending { return false }
        guard count > 0 else { return true }
        firstSuccess(length: length)
        if layout.mode == length && start + count <= layout.denseItems {
            arena.write(raw, at: start * length)
            status.fill(start..<(start + count), with: Self.succeeded)
            return true
        }
        makeGeneral()
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
        rest.layout.mode = -1
        for i in first..<count {
            let status = self.status[i]
            rest.status[i - first] = status
            guard status == Self.succeeded else { continue }
            let bytes = resultBytes(i)
            rest.starts[i - first] = rest.arena.count
            rest.lengths[i - first] = Int32(bytes.count)
            rest.arena.append(contentsOf: bytes)
        }
        return rest
    }

    /// The encoded result of a succeeded item, valid while the table lives and records nothing
    /// more (the arena may move when it grows).
    func resultBytes(_ index: Int) -> UnsafeRawBufferPointer {
        let length = layout.mode
        if length > 0 {
            return arena.withUnsafeBytes(start: index * length, length: length) { $0 }
        }
        return arena.withUnsafeBytes(start: starts[index], length: Int(lengths[index])) { $0 }
    }

    /// Where the results lie when dense (item `i` at `base + i × stride`), valid while the
    /// table lives and records nothing more; nil in the general layout.
    var denseResults: (base: UnsafeRawPointer, stride: Int)? {
        let length = layout.mode
        guard length > 0, count <= layout.denseItems, count > 0 else { return nil }
        return arena.withUnsafeBytes(start: 0, length: count * length) { (UnsafeRawPointer($0.baseAddress!), length) }
    }

}
