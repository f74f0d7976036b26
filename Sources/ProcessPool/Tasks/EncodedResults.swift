/// A finished job's encoded results by index: what ``PoolTask``'s batch decoder reads, in a
/// loop specialized for the result type.
///
/// Small results of one size lie densely in the job's table (item `i` at `i × stride`), and are
/// found by arithmetic inlined into that loop; others through the table. Looked up through a
/// closure per item, a million results cost more to find than to decode, at the end of a job,
/// while the workers wait.
@usableFromInline
struct EncodedResults {
    @usableFromInline let count: Int
    /// The first result, when they lie densely.
    @usableFromInline let dense: UnsafeRawPointer?
    @usableFromInline let stride: Int
    /// Any result, when they do not.
    @usableFromInline let lookup: (Int) -> UnsafeRawBufferPointer

    init(count: Int, dense: UnsafeRawPointer?, stride: Int, lookup: @escaping (Int) -> UnsafeRawBufferPointer) {
        self.count = count
        self.dense = dense
        self.stride = stride
        self.lookup = lookup
    }

    /// The results of items `range`, numbered from 0.
    func slice(_ range: Range<Int>) -> EncodedResults {
        let lookup = self.lookup
        return EncodedResults(count: range.count, dense: dense.map { $0 + range.lowerBound * stride }, stride: stride,
                              lookup: { lookup($0 + range.lowerBound) })
    }

    /// The encoded result of item `index` (which succeeded).
    @inlinable
    subscript(index: Int) -> UnsafeRawBufferPointer {
        if let dense { return UnsafeRawBufferPointer(start: dense + index * stride, count: stride) }
        return lookup(index)
    }
}
