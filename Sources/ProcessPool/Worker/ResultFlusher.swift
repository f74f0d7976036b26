import CSystemShims
import Glibc
import Synchronization

/// A worker's second thread: it writes results that have waited too long while the worker's own
/// thread is inside an item.
///
/// The worker batches results and writes them between items. Without help, results of fast items
/// that finished just before a slow one would wait for the slow one to end. Around each item that
/// starts with results waiting, the worker *arms* this watch: its buffer, which holds only complete
/// frames then and which it does not touch until the item ends, and when its oldest result was
/// produced. The watch sleeps until that result is ``maximumWait`` old (an absolute deadline on
/// the monotonic clock, not a polling tick, so no result waits longer than that plus a
/// wake-up); if the buffer is still armed with it then, it claims the buffer (a
/// compare-and-exchange, so exactly one side owns it), writes it, and marks it written. When the
/// item ends, the worker disarms: if the watch claimed the buffer, the worker waits until the
/// write is done and starts a fresh buffer.
///
/// A watch with nothing armed looks every ``idleTick`` for a while, then parks on a semaphore;
/// arming wakes it. An idle worker costs fifty wake-ups a second.
final class ResultFlusher: @unchecked Sendable {
    // Safe: the buffer and `seal` are written by the worker thread only while the state is
    // `idle`, and read (the buffer's open batch header also written) by the watch only after it
    // claimed an armed state (acquire pairs with the arming store's release), while the worker
    // does not touch them until `disarm()` sees the write finished; the semaphore is only
    // posted and waited on.

    /// `idle`, `claimed`, `written`, or the time the oldest waiting result was produced (armed).
    private let state = Atomic<UInt64>(ResultFlusher.idle)
    private let bufferBase = Atomic<UInt>(0)
    private let bufferCount = Atomic<Int>(0)
    private let parked = Atomic<Bool>(false)
    /// What the watch fills in before it writes an armed buffer (see ``BatchSeal``): behind a
    /// pointer, written by the worker only while idle and read by the watch only after it
    /// claimed, as the buffer itself is (a class's stored `var` would cost an exclusivity check
    /// per item).
    private let seal: UnsafeMutablePointer<BatchSeal?>
    private let wakeUp: UnsafeMutablePointer<sem_t>
    private let descriptor: Int32
    /// The watch's timer (a timerfd), or -1 when none could be had (then `clock_nanosleep`).
    private let timer: Int32

    private static let idle: UInt64 = 0
    private static let claimed: UInt64 = 1
    private static let written: UInt64 = 2
    /// Results older than this are written while the worker is still inside an item. Tiny
    /// items never wait for it (the worker writes every 100 µs itself); items that take longer
    /// cost one more `write` each, negligible beside them.
    ///
    /// Why 150 µs and not 0.5 ms: a result waiting here is exposed to the machine's stalls (a
    /// kernel thread taking the CPU its reader was woken on, a virtual CPU descheduled by the
    /// host: 1–4 ms each, a few a second on this project's 2-CPU machines), and results of
    /// fast items wait here together, so one stall makes a whole run of them late. At 0.5 ms,
    /// `poolmon-bench measure latency` had p99 over 2 ms in 14 runs of 30; at 150 µs in 12 of
    /// 30, and in 5 of 30 once the watch slept on a timerfd (see ``sleep(until:)``); p50
    /// 0.6 → 0.3 ms. It must stay above the worker's own `WorkerLoop.flushInterval` (100 µs),
    /// or the watch, not the worker, writes every batch of tiny items (tried at 75 µs: p99
    /// under 1.5 ms a little more often, but the watch's share of `map_chunk1`'s CPU rose by
    /// a third).
    static let maximumWait: UInt64 = 150_000
    /// The wait while the worker streams tiny items (two wake-ups in a row found it further
    /// along): a watch at ``maximumWait`` would wake about every 150 µs for nothing (the
    /// watch's share of `map_default`'s CPU samples: 3.5% at 150 µs, 2.5% at 600 µs). A slow
    /// item right after such a stream has its results waited on this long, still under a
    /// millisecond.
    static let streamingWait: UInt64 = 800_000
    /// How often a watch with nothing armed looks, until it parks (nanoseconds).
    private static let idleTick: UInt64 = 250_000
    /// How long a watch with nothing armed keeps looking before it parks (nanoseconds).
    private static let idleBeforeParking: UInt64 = 50_000_000
    /// A parked watch looks again after this long (nanoseconds) even if no wake-up came.
    private static let parkedTick = 20_000_000

    private init(descriptor: Int32) {
        self.descriptor = descriptor
        timer = cshim_timerfd_create()
        seal = .allocate(capacity: 1)
        seal.initialize(to: nil)
        wakeUp = .allocate(capacity: 1)
        sem_init(wakeUp, 0, 0)
    }

    /// Starts a watch writing to `descriptor`, or returns nil when no thread can be had (the
    /// worker then works as before, results waiting for the item after them).
    static func start(descriptor: Int32) -> ResultFlusher? {
        let flusher = ResultFlusher(descriptor: descriptor)
        do {
            try DedicatedThread.start(name: "result flusher") { flusher.watch() }
        } catch {
            return nil
        }
        return flusher
    }

    /// Hands the watch `bytes` whose oldest result was produced at `since`: complete frames,
    /// except for the header fields `seal` says how to fill in (the worker's open batch, still
    /// growing, is sealed only if the watch writes it, not before every item). The worker must
    /// not change the bytes until ``disarm()``.
    @inline(__always)
    func arm(_ bytes: UnsafeRawBufferPointer, since: UInt64, seal: BatchSeal?) {
        guard bytes.count > 0 else { return }
        self.seal.pointee = seal
        bufferBase.store(UInt(bitPattern: bytes.baseAddress), ordering: .relaxed)
        bufferCount.store(bytes.count, ordering: .relaxed)
        state.store(max(since, Self.written + 1), ordering: .releasing)
        // A relaxed look (this runs once per item): a wake-up missed in a race with parking
        // costs at most ``parkedTick``, and the watch parks only after ``idleBeforeParking``
        // with nothing armed, so a busy worker's watch is never parked.
        if parked.load(ordering: .relaxed), parked.exchange(false, ordering: .relaxed) {
            sem_post(wakeUp)
        }
    }

    /// Takes the buffer back. - Returns: true when the watch wrote it (the worker then drops it).
    @inline(__always)
    func disarm() -> Bool {
        var current = state.load(ordering: .acquiring)
        if current > Self.written {
            let (exchanged, original) = state.compareExchange(
                expected: current, desired: Self.idle, ordering: .acquiringAndReleasing)
            if exchanged { return false }
            current = original
        }
        // Claimed: wait for the write to finish (a pipe write of at most the buffer).
        while state.load(ordering: .acquiring) != Self.written { sched_yield() }
        state.store(Self.idle, ordering: .relaxed)
        return true
    }

    private func watch() {
        var idleSince: UInt64?
        // Wake-ups in a row that found the worker further along (it wrote, so its oldest waiting
        // result is newer, or it was between items): it is streaming tiny items, and the watch
        // looks less often.
        var movedOn = 0
        /// Counts a wake-up that found the state changed since `current`, or starts again.
        func lookedAgain(since current: UInt64) {
            movedOn = state.load(ordering: .relaxed) != current ? movedOn &+ 1 : 0
        }
        while true {
            let current = state.load(ordering: .acquiring)
            guard current > Self.written else {
                let now = MonotonicClock.nanoseconds()
                if let since = idleSince, now &- since >= Self.idleBeforeParking {
                    park()
                    idleSince = nil
                    movedOn = 0
                } else {
                    if idleSince == nil { idleSince = now }
                    sleep(until: now &+ (movedOn >= 2 ? Self.streamingWait : Self.idleTick))
                    // Between two tiny items the worker has nothing armed for a moment; if it
                    // is still idle now, it waits for work (or runs an item with nothing
                    // waiting), and the watch looks often again.
                    lookedAgain(since: current)
                }
                continue
            }
            idleSince = nil
            let deadline = current &+ (movedOn >= 2 ? Self.streamingWait : Self.maximumWait)
            if MonotonicClock.nanoseconds() < deadline {
                // Then look again: the worker may have disarmed, or armed a newer buffer.
                sleep(until: deadline)
                lookedAgain(since: current)
                continue
            }
            movedOn = 0
            guard state.compareExchange(expected: current, desired: Self.claimed, ordering: .acquiringAndReleasing).exchanged
            else { continue }
            let base = UnsafeMutableRawPointer(bitPattern: bufferBase.load(ordering: .relaxed))
            let count = bufferCount.load(ordering: .relaxed)
            if let base, let seal = seal.pointee { seal.apply(to: base, count: count) }
            if count > 0, !WorkerProcess.writeFully(descriptor, UnsafeRawBufferPointer(start: UnsafeRawPointer(base), count: count)) {
                exit(72)  // the parent is gone
            }
            state.store(Self.written, ordering: .releasing)
        }
    }

    /// Waits for an ``arm(_:since:seal:)``, or ``parkedTick`` at most.
    private func park() {
        parked.store(true, ordering: .sequentiallyConsistent)
        if state.load(ordering: .sequentiallyConsistent) <= Self.written {
            var deadline = timespec()
            clock_gettime(CLOCK_REALTIME, &deadline)
            deadline.tv_nsec += Self.parkedTick
            if deadline.tv_nsec >= 1_000_000_000 {
                deadline.tv_sec += 1
                deadline.tv_nsec -= 1_000_000_000
            }
            _ = sem_timedwait(wakeUp, &deadline)
        }
        parked.store(false, ordering: .relaxed)
    }

    /// Sleeps until `deadline` on the monotonic clock (``MonotonicClock``'s nanoseconds).
    ///
    /// On the timerfd, not `clock_nanosleep`: a thread that `clock_nanosleep` wakes on another
    /// CPU than its timer's must wait, spinning in the kernel, until that CPU has finished the
    /// timer's interrupt (`hrtimer_cancel`). In a virtual machine whose other CPU the host has
    /// just descheduled, that spin lasts until the host runs it again: a `perf` trace on this
    /// project's 2-CPU KVM machines caught a flusher spinning there 3.9 ms while the parent's IO
    /// thread sat on the stalled CPU, and a run of results arrived 4 ms late. A timerfd's reader
    /// only takes a lock, which a paravirtual spinlock waits on by yielding to the host.
    private func sleep(until deadline: UInt64) {
        if timer >= 0, cshim_timerfd_sleep_until(timer, deadline) == 0 { return }
        var when = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nil) == EINTR {}
    }
}

/// The header fields of a worker's open result batch (the last frame in its buffer, still
/// growing): where they are and what they hold at arming time. The worker seals the batch
/// itself when it writes; the watch applies this only to a buffer it claimed and writes.
struct BatchSeal {
    /// Where the frame starts (its `UInt32` length comes first).
    let frame: Int
    /// Where the batch's `UInt32` item count is, and the count.
    let countAt: Int
    let count: UInt32
    /// Where a uniform run's `UInt64` total duration is, and the total (nil: a general batch).
    let nanosecondsAt: Int?
    let nanoseconds: UInt64

    /// Fills in the fields, the frame running to the end of the `count` bytes at `base`.
    func apply(to base: UnsafeMutableRawPointer, count bytes: Int) {
        base.storeBytes(of: UInt32(truncatingIfNeeded: bytes - frame - 4).littleEndian, toByteOffset: frame, as: UInt32.self)
        base.storeBytes(of: count.littleEndian, toByteOffset: countAt, as: UInt32.self)
        if let nanosecondsAt { base.storeBytes(of: nanoseconds.littleEndian, toByteOffset: nanosecondsAt, as: UInt64.self) }
    }
}
