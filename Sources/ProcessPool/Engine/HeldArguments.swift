/// A job's encoded arguments, kept as the batches they arrived in (the submission's own, then
/// each batch its input feed delivered), never copied into one buffer.
///
/// Why batches: a `map` of a million tiny items arrives from its background encoder in slices of
/// about 64k items, and appending each slice to one growing buffer cost the IO thread a copy of
/// every argument, the page faults of a second buffer as large as the input, and the unmapping of
/// each slice after it: profiled, over half of the IO thread's time in `map_default`, where the
/// IO thread is what the workers wait for. A batch is never changed once held, so a command can
/// also write a run of arguments straight from it (see ``CommandOutbox``), input complete or not.
///
/// Item numbers here count from the first item held (the job's `base`).
struct HeldArguments {
    private var batches: [EncodedItems] = []
    /// `ends[i]`: one past the last item of batches `0...i`.
    private var ends: [Int] = []
    /// Items held.
    private(set) var count = 0

    init(_ first: EncodedItems) {
        append(first)
    }

    private init() {}

    mutating func append(_ batch: EncodedItems) {
        guard batch.count > 0 else { return }
        batches.append(batch)
        count += batch.count
        ends.append(count)
    }

    /// The batch holding item `index` (`0 ..< count`) and the item number its first item has.
    private func batch(holding index: Int) -> (position: Int, first: Int) {
        // The first batch whose end is past `index`; batches are few (a slice is ~64k items).
        var low = 0
        var high = ends.count - 1
        while low < high {
            let middle = (low + high) / 2
            if ends[middle] > index { high = middle } else { low = middle + 1 }
        }
        return (low, low == 0 ? 0 : ends[low - 1])
    }

    /// The encoded arguments of items `start ..< start+count`, where they lie in one batch (the
    /// usual case: the engine's chunks never straddle a batch, which holds whole chunks), or
    /// joined into a copy where a run of chunks does.
    func bytes(start: Int, count: Int) -> (source: WireWriter, range: Range<Int>) {
        precondition(start >= 0 && count >= 0 && start + count <= self.count, "arguments \(start)+\(count) of \(self.count) held")
        guard count > 0 else { return (WireWriter(), 0..<0) }
        var (position, first) = batch(holding: start)
        if start + count <= ends[position] {
            let held = batches[position]
            return (held.bytes, held.byteRange(start: start - first, count: count))
        }
        var joined = WireWriter()
        var next = start
        let end = start + count
        while next < end {
            let held = batches[position]
            let taken = min(end, ends[position]) - next
            let range = held.byteRange(start: next - first, count: taken)
            held.bytes.withUnsafeBytes { joined.writeRaw(UnsafeRawBufferPointer(rebasing: $0[range])) }
            next += taken
            first = ends[position]
            position += 1
        }
        return (joined, 0..<joined.count)
    }

    /// The items from `first` on (a long stream job lets go of the ones it has delivered): the
    /// batches wholly before `first` are dropped, the one it falls in is cut (a copy of its rest).
    func suffix(from first: Int) -> HeldArguments {
        guard first > 0 else { return self }
        var rest = HeldArguments()
        guard first < count else { return rest }
        let (position, start) = batch(holding: first)
        rest.append(first == start ? batches[position] : batches[position].suffix(from: first - start))
        for later in batches[(position + 1)...] { rest.append(later) }
        return rest
    }
}
