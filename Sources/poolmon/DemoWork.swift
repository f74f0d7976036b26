/// The tutorial's work list, `zip(a, b)` with `a = 1…count` and `b = count+1…2·count`, as a
/// `Sendable` random-access collection: each item is computed from its index, nothing is stored,
/// and the pool can encode a big job off the caller's thread (so that `product` is submitted
/// right after `sum` instead of after `sum`'s three million items are encoded).
struct DemoWork: RandomAccessCollection, Sendable {
    let count: Int
    /// Each task's sleep, before the spread.
    let delayNanoseconds: Double
    let quiet: Bool
    /// The 0-based index of the item that aborts its worker (`--crash-on`).
    let crashAt: Int?
    /// Each item sleeps `delay × (1 ± jitter)`, fixed by the item's index and `seed`.
    let jitter: Double
    let seed: UInt64

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    subscript(position: Int) -> DemoItem {
        let factor = jitter == 0 ? 1 : 1 + jitter * DemoTasks.unitNoise(UInt64(position), seed: seed)
        return DemoItem(x: position + 1, y: count + position + 1, delayNanoseconds: Int((delayNanoseconds * factor).rounded()),
                        quiet: quiet, crash: position == crashAt)
    }
}
