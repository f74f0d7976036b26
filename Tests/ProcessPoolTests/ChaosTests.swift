import CSystemShims
import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import Synchronization
import Testing

/// Workers SIGKILLed at random while big jobs run: every result correct, exactly once, in order.
@Suite("Chaos", .timeLimit(.minutes(4)), .serialized)
struct ChaosTests {
    /// SIGKILLs a random worker of `pool` about every 100 ms until stopped, on a thread of its own
    /// (not a task: the test's own tasks may hold every cooperative thread).
    final class Killer: Sendable {
        private let stopped = Atomic<Bool>(false)
        /// Distinct PIDs killed: a dead worker stays in `workerPIDs` until the pool has reaped
        /// it, and killing that zombie again must not count twice.
        private let victims = Mutex<Set<Int32>>([])
        private let done = Atomic<Bool>(false)

        init(_ pool: ProcessPool) {
            Thread { [self] in
                while !stopped.load(ordering: .acquiring) {
                    usleep(100_000)
                    // Through a pidfd, checked against the pool after opening it: the PID of a
                    // worker that just died may already belong to another test's process.
                    guard let victim = pool.workerPIDs.randomElement() else { continue }
                    let pidfd = cshim_pidfd_open(victim)
                    guard pidfd >= 0 else { continue }
                    if pool.workerPIDs.contains(victim), cshim_pidfd_send_signal(pidfd, SIGKILL) == 0 {
                        victims.withLock { _ = $0.insert(victim) }
                    }
                    close(pidfd)
                }
                done.store(true, ordering: .releasing)
            }.start()
        }

        /// Stops killing; returns the workers killed.
        func stop() -> Set<Int32> {
            stopped.store(true, ordering: .releasing)
            while !done.load(ordering: .acquiring) { usleep(1000) }
            return victims.withLock { $0 }
        }
    }

    static let count = 100_000

    @Test("map_async, imap and imap_unordered survive random SIGKILLs with every result right, exactly once",
          arguments: [JobMode.map, .imap, .imapUnordered])
    func randomKills(mode: JobMode) async throws {
        let pool = try TestEnvironment.pool(workers: 2)
        defer { pool.terminate() }
        let events = pool.eventBatches(bufferingLimit: 1 << 22)
        let counter = Task {
            var exits: [Int32: (WorkerTermination, WorkerExitReason)] = [:]
            for await batch in events {
                for event in batch {
                    if case .workerExited(_, let pid, let termination, let reason, _) = event.kind { exits[pid] = (termination, reason) }
                }
            }
            return exits
        }
        let input = Array(0..<Self.count)
        let killer = Killer(pool)
        let results: [Int]
        switch mode {
        case .imap: results = try await pool.imap(TestTasks.slowIdentity, input, chunksize: 7).collect()
        case .imapUnordered: results = try await pool.imapUnordered(TestTasks.slowIdentity, input, chunksize: 7).collect()
        default: results = try await pool.mapAsync(TestTasks.slowIdentity, input).value
        }
        let victims = killer.stop()
        #expect(results.count == Self.count, "exactly one result per item")
        if mode == .imapUnordered {
            #expect(Set(results).count == Self.count)
            #expect(results.sorted() == input)
        } else {
            #expect(results == input, "in input order")
        }
        pool.close()
        try await pool.join()
        let exits = await counter.value
        #expect(!victims.isEmpty, "the run lasted long enough for kills to land")
        let unseen = victims.filter { exits[$0] == nil }
        #expect(unseen.isEmpty, "every killed worker's exit was reported: missing \(unseen)")
        let odd = victims.compactMap { pid in exits[pid].flatMap { $0.0 == .signaled(signal: SIGKILL) && $0.1 == .crashed ? nil : (pid, $0) } }
        #expect(odd.isEmpty, "killed workers are reported as crashed by SIGKILL: \(odd)")
    }
}
