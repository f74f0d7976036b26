/// The most recent `capacity` values of something, oldest first: sparkline samples, task-stream
/// columns, log lines.
///
/// Appending is O(1) and never grows past `capacity`, so a run of any length keeps a bounded
/// history (the screen only ever shows its tail).
public struct RecentHistory<Element: Sendable>: Sendable {
    public let capacity: Int
    private var storage: [Element] = []
    /// Where the oldest element is once `storage` is full (the next one to overwrite).
    private var head = 0

    public init(capacity: Int) {
        // Storage grows as values come, not to the capacity at once: a monitor keeps many of
        // these (three per job), and most never fill.
        self.capacity = max(1, capacity)
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }

    public mutating func append(_ element: Element) {
        if storage.count < capacity {
            storage.append(element)
        } else {
            storage[head] = element
            // A compare, not `% capacity`: a division per value showed in the watcher's profile.
            head = head + 1 == capacity ? 0 : head + 1
        }
    }

    /// The `i`-th oldest element still kept.
    public subscript(i: Int) -> Element {
        storage[(head + i) % storage.count]
    }

    /// The newest element, if any.
    public var last: Element? { storage.isEmpty ? nil : self[storage.count - 1] }

    /// The newest `n` elements (fewer if there are fewer), oldest first.
    public func suffix(_ n: Int) -> [Element] {
        let n = min(max(0, n), storage.count)
        return (storage.count - n..<storage.count).map { self[$0] }
    }

    /// Everything kept, oldest first.
    public var elements: [Element] { suffix(storage.count) }
}

extension RecentHistory: Equatable where Element: Equatable {
    public static func == (a: Self, b: Self) -> Bool { a.capacity == b.capacity && a.elements == b.elements }
}
