/// Where each of a batch's encoded items starts, and where the last one ends: while every item
/// has the same size (a big `map` of numbers or pairs), only that size and the count are kept.
///
/// Kept as an array, the offsets were 8 bytes an item written by the background encoder, and
/// the pages they took faulted in while the workers needed the same two cores. The first item
/// of another size turns them into an array once.
@usableFromInline
struct ItemOffsets: Sendable {
    /// Items so far.
    @usableFromInline private(set) var count = 0
    /// The size of every item while they are uniform (`explicit` is nil).
    @usableFromInline var stride = 0
    /// Once sizes differ: where item `i` starts, with one more entry for the end.
    @usableFromInline var explicit: [Int]?

    @usableFromInline
    init() {}

    /// Where item `index` starts; `count` gives the end.
    @inlinable
    subscript(index: Int) -> Int {
        if let explicit { return explicit[index] }
        return index * stride
    }

    /// One more item, ending at `end` (it starts where the one before ended).
    @inlinable
    mutating func append(end newEnd: Int) {
        if explicit == nil {
            let size = newEnd - count * stride
            if count == 0 {
                stride = size
                count = 1
                return
            }
            if size == stride {
                count += 1
                return
            }
            makeExplicit()
        }
        explicit!.append(newEnd)
        count += 1
    }

    /// Turns uniform offsets into an array of them.
    @usableFromInline
    mutating func makeExplicit() {
        var offsets: [Int] = []
        offsets.reserveCapacity(2 * count + 2)
        for index in 0...count { offsets.append(index * stride) }
        explicit = offsets
    }

    /// Appends `other`'s items, which follow these in a buffer where `other`'s start at `base`
    /// (at least this batch's end): O(1) while both are uniform of one size and adjoin.
    mutating func append(contentsOf other: ItemOffsets, at base: Int) {
        if explicit == nil, other.explicit == nil, count == 0 || other.count == 0 || other.stride == stride,
           base == count * stride {
            if count == 0 { stride = other.stride }
            count += other.count
            return
        }
        for index in 0..<other.count { append(end: other[index + 1] + base) }
    }

    /// The offsets of items `first ..< count`, numbered from 0 and starting at 0.
    func suffix(from first: Int) -> ItemOffsets {
        var rest = ItemOffsets()
        if explicit == nil {
            rest.count = count - first
            rest.stride = stride
            return rest
        }
        let base = self[first]
        for index in (first + 1)..<(count + 1) { rest.append(end: self[index] - base) }
        return rest
    }

    /// No items: uniform again until sizes differ (most batches are).
    mutating func removeAll() {
        count = 0
        stride = 0
        explicit = nil
    }
}
