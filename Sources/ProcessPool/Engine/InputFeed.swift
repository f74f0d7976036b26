import Foundation

/// The window between a stream job's lazily read input and the pool: the feeder (a thread for a
/// `Sequence`, a task for an `AsyncSequence`) reads and encodes items only while fewer than
/// ``limit`` of them are read and not yet taken by the stream's consumer, and puts them here a
/// chunk at a time; the IO thread takes whatever whole chunks are waiting when it is told some
/// are (one command per batch it takes, however many chunks the feeder put meanwhile).
///
/// The window counts "items in flight plus results not yet consumed", as joblib's `pre_dispatch`
/// does: a consumer that stops reading stops the input. Closing the pool lifts the window, so
/// that queued work still finishes and `join()` returns, as in Python.
final class InputFeed: @unchecked Sendable {
    // Safe to share: every stored property below is read and written only while `condition` is
    // locked, except `limit`'s initial value and `chunksize`, which never change.
    private let condition = NSCondition()
    /// Encoded items read from the input and not yet taken by the IO thread.
    private var pending = EncodedItems()
    /// Items put here so far (taken or not).
    private var fed = 0
    /// Results the consumer has taken from the stream.
    private var consumed = 0
    /// The window, in items (a whole number of chunks, at least one).
    private var limit: Int
    /// Set when the job ended or was cancelled: the feeder stops reading.
    private var stopped = false
    /// Whether an `inputAvailable` command is on its way to the IO thread (no need for another).
    private var announced = false
    /// An `AsyncSequence` feeder waiting for room.
    private var waiter: CheckedContinuation<Void, Never>?
    /// Items per chunk: the feeder puts and the IO thread takes whole chunks, so that the job's
    /// chunk numbering (by chunksize from item 0) holds.
    let chunksize: Int

    /// - Parameters:
    ///   - limit: the window in items; rounded down to whole chunks, and at least one chunk.
    ///   - alreadyFed: items the submission itself carried (read before the feeder started).
    init(limit: Int, chunksize: Int, alreadyFed: Int) {
        self.chunksize = chunksize
        self.limit = max(chunksize, limit / chunksize * chunksize)
        fed = alreadyFed
    }

    /// The default window: a few chunks per worker, and never fewer than about a millisecond of
    /// tiny tasks per worker (the depth the pool prefetches them to), so that workers stay busy.
    static func defaultLimit(workers: Int, chunksize: Int) -> Int {
        workers * max(4 * chunksize, 1024)
    }

    /// The window rounded as the feed uses it.
    var window: Int {
        condition.lock()
        defer { condition.unlock() }
        return limit
    }

    private var room: Int { limit == .max ? .max : limit - (fed - consumed) }

    /// The room a waiting feeder wakes for: a quarter of the window (whole chunks, at least one),
    /// so that a fast consumer wakes it once per batch, not once per result. It cannot stall:
    /// while less is free, more than three quarters of the window are in flight or waiting to
    /// be read, and as they are read the room grows.
    private var wakeRoom: Int { max(chunksize, limit == .max ? chunksize : limit / 4 / chunksize * chunksize) }

    // MARK: the feeder

    /// Blocks until at least one chunk may be read; a thread feeder's wait.
    /// - Returns: how many whole chunks may be read now, or `nil` once the feed is stopped.
    func waitForRoom() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while !stopped && room < wakeRoom { condition.wait() }
        return stopped ? nil : room / chunksize
    }

    /// Suspends until at least one chunk may be read; an `AsyncSequence` feeder's wait.
    /// - Returns: how many whole chunks may be read now, or `nil` once the feed is stopped.
    func roomAsync() async -> Int? {
        while true {
            switch look() {
            case .stopped: return nil
            case .room(let chunks): return chunks
            case .full: await withCheckedContinuation { park($0) }
            }
        }
    }

    private enum Look { case stopped, room(Int), full }

    private func look() -> Look {
        condition.lock()
        defer { condition.unlock() }
        if stopped { return .stopped }
        return room >= wakeRoom ? .room(room / chunksize) : .full
    }

    /// Keeps `continuation` until there is room, or resumes it at once if there is already.
    private func park(_ continuation: CheckedContinuation<Void, Never>) {
        condition.lock()
        if stopped || room >= wakeRoom {
            condition.unlock()
            continuation.resume()
        } else {
            waiter = continuation
            condition.unlock()
        }
    }

    /// Hands encoded items (whole chunks, or the input's last items) to the IO thread.
    /// - Returns: whether the caller must tell the IO thread (``PoolCommand/inputAvailable(job:)``):
    ///   only when no such command is already on its way.
    func put(_ items: inout EncodedItems) -> Bool {
        guard items.count > 0 else { return false }
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else {
            items = EncodedItems()
            return false
        }
        fed += items.count
        if pending.count == 0 {
            swap(&pending, &items)
        } else {
            pending.append(contentsOf: items)
        }
        items.removeAll()
        guard !announced else { return false }
        announced = true
        return true
    }

    /// Whether the feeder should stop reading (the job ended or was cancelled).
    var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    // MARK: the IO thread

    /// Takes everything waiting (the IO thread, on ``PoolCommand/inputAvailable(job:)`` or at the
    /// input's end).
    func take() -> EncodedItems {
        condition.lock()
        defer { condition.unlock() }
        announced = false
        var taken = EncodedItems()
        swap(&taken, &pending)
        return taken
    }

    /// Lifts the window: the pool was closed, and its queued work must finish whether or not
    /// anyone reads the results.
    func lift() {
        condition.lock()
        limit = .max
        let resume = waiter
        waiter = nil
        condition.broadcast()
        condition.unlock()
        resume?.resume()
    }

    // MARK: the consumer

    /// The consumer took `count` results: the window opens by as much.
    func consumed(_ count: Int) {
        condition.lock()
        consumed += count
        let wake = room >= wakeRoom
        let resume = wake ? waiter : nil
        if wake {
            waiter = nil
            condition.broadcast()
        }
        condition.unlock()
        resume?.resume()
    }

    /// Stops the feeder (the job ended, failed or was cancelled); what it still puts is dropped.
    func stop() {
        condition.lock()
        stopped = true
        pending = EncodedItems()
        let resume = waiter
        waiter = nil
        condition.broadcast()
        condition.unlock()
        resume?.resume()
    }
}
