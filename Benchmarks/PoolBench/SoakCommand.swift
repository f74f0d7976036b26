import ArgumentParser
import CSystemShims
import Foundation
import Glibc
import ProcessPool
import Synchronization

/// `poolmon-bench soak`: a long run under random worker kills and random resizes, checking every
/// result, and the parent's descriptors and memory as it goes. Not part of `swift test`.
struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Run many items through the pool while killing and resizing workers at random; check every result."
    )

    @Option(help: "Items in all (split into jobs of --job-size, cycling map_async, imap and imap_unordered).")
    var items = 1_000_000

    @Option(help: "Items per job.")
    var jobSize = 100_000

    @Option(help: "Microseconds each item sleeps (so that kills land mid-chunk).")
    var itemMicros = 20

    @Option(help: "Milliseconds between random worker kills (SIGKILL).")
    var killEvery = 100

    @Option(help: "Milliseconds between random resizes (1 to 4 workers).")
    var resizeEvery = 700

    func validate() throws {
        guard items > 0, jobSize > 0, killEvery > 0, resizeEvery > 0, itemMicros >= 0 else {
            throw ValidationError("every option must be positive")
        }
    }

    func run() async throws {
        let pool = try ProcessPool(workers: 2)
        defer { pool.terminate() }
        // Retries as the pool reports them: items charged with a death, and chunk remainders re-queued.
        let batches = pool.eventBatches(bufferingLimit: 1 << 22)
        let retryCounter = Task {
            var retried = 0
            var requeued = 0
            for await batch in batches {
                for event in batch {
                    switch event.kind {
                    case .itemRetried: retried += 1
                    case .chunkRequeued: requeued += 1
                    default: break
                    }
                }
            }
            return (retried, requeued)
        }
        let chaos = Chaos(pool: pool, killEvery: killEvery, resizeEvery: resizeEvery)
        let startFDs = openDescriptors()
        let startRSS = ProcessMemory.residentMegabytes()
        var done = 0
        var wrong = 0
        var round = 0
        let clock = ContinuousClock()
        let started = clock.now
        print("soak: \(items) items of \(itemMicros) µs, jobs of \(jobSize), a kill every \(killEvery) ms, a resize every \(resizeEvery) ms")
        while done < items {
            let count = min(jobSize, items - done)
            let pairs = (done..<(done + count)).map { Pair($0, itemMicros) }
            let results: [Int]
            switch round % 3 {
            case 0: results = try await pool.mapAsync(BenchTasks.slowIncrement, pairs).value
            case 1: results = try await pool.imap(BenchTasks.slowIncrement, pairs, chunksize: 16).collect()
            default: results = try await pool.imapUnordered(BenchTasks.slowIncrement, pairs, chunksize: 16).collect().sorted()
            }
            // Every item exactly once, right, and (for map_async and imap) in order.
            let expected = (done..<(done + count)).map { $0 + 1 }
            if results.count != count { wrong += abs(results.count - count) }
            wrong += zip(results, expected).filter { $0 != $1 }.count
            done += count
            round += 1
            let (kills, resizes) = chaos.counts
            print(String(format: "soak: %8d items  %6.1f s  kills %4d  resizes %3d  wrong %d  fds %d  rss %.1f MB",
                         done, (clock.now - started).seconds, kills, resizes, wrong, openDescriptors(),
                         ProcessMemory.residentMegabytes()))
        }
        let (kills, resizes) = chaos.stop()
        pool.close()
        try await pool.join()
        let (retried, requeued) = await retryCounter.value
        let fdDrift = openDescriptors() - startFDs
        let rssDrift = ProcessMemory.residentMegabytes() - startRSS
        print(String(format: "soak: done: %d items, %d kills survived, %d resizes, %d chunk remainders re-run "
                        + "(%d items charged with a death), %d wrong or lost, fd drift %+d, rss drift %+.1f MB",
                     done, kills, resizes, requeued, retried, wrong, fdDrift, rssDrift))
        if wrong > 0 { throw ExitCode(1) }
    }

    private func openDescriptors() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
    }
}

/// Kills a random worker every `killEvery` ms and resizes the pool every `resizeEvery` ms, on a
/// thread of its own. Kills go through a pidfd, checked against the pool after opening it.
private final class Chaos: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let kills = Atomic<Int>(0)
    private let resizes = Atomic<Int>(0)

    init(pool: ProcessPool, killEvery: Int, resizeEvery: Int) {
        Thread { [self] in
            var sinceResize = 0
            while !stopped.load(ordering: .acquiring) {
                usleep(UInt32(killEvery) * 1000)
                sinceResize += killEvery
                if let victim = pool.workerPIDs.randomElement() {
                    let pidfd = cshim_pidfd_open(victim)
                    if pidfd >= 0 {
                        if pool.workerPIDs.contains(victim), cshim_pidfd_send_signal(pidfd, SIGKILL) == 0 {
                            kills.add(1, ordering: .relaxed)
                        }
                        close(pidfd)
                    }
                }
                if sinceResize >= resizeEvery {
                    sinceResize = 0
                    if (try? pool.resize(workers: Int.random(in: 1...4))) != nil { resizes.add(1, ordering: .relaxed) }
                }
            }
            finished.store(true, ordering: .releasing)
        }.start()
    }

    var counts: (Int, Int) { (kills.load(ordering: .relaxed), resizes.load(ordering: .relaxed)) }

    func stop() -> (Int, Int) {
        stopped.store(true, ordering: .releasing)
        while !finished.load(ordering: .acquiring) { usleep(1000) }
        return counts
    }
}
