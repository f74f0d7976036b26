import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import Synchronization

/// Scenarios that need a pool in a process of their own (under a resource limit the test
/// process must not share): `PoolTestWorker scenario NAME` runs one and prints what happened,
/// one `KEY value` line per fact, for the test to check.
enum Scenario {
    static func run(_ name: String) -> Never {
        switch name {
        case "grow-past-descriptor-limit": growPastDescriptorLimit()
        case "pools-end-together": poolsEndTogether()
        case "fatal-crash": fatalCrash()
        case "stderr-unread": stderrUnread()
        default:
            print("ERROR unknown scenario \(name)")
            exit(2)
        }
    }

    /// A library user's pool, with nothing configured about output: a task writes a line to
    /// standard error from each worker, then an item's `fatalError` kills its worker each time it
    /// runs. Prints the error the map fails with (one line: newlines shown as ` | `).
    static func fatalCrash() -> Never {
        do {
            var configuration = TestEnvironment.configuration(workers: 2)
            configuration.maxCrashRetries = 1
            let pool = try ProcessPool(configuration: configuration)
            _ = try pool.map(TestTasks.errorLine, ["a line on standard error from a worker", "another one"], chunksize: 1)
            do {
                _ = try pool.map(TestTasks.fatalOn, (0..<6).map { Pair($0, 3) }, chunksize: 1)
                print("ERROR the map succeeded")
            } catch {
                print("FAILED \("\(error)".replacingOccurrences(of: "\n", with: " | "))")
            }
            pool.close()
            try pool.join()
            exit(0)
        } catch {
            print("ERROR \(error)")
            exit(1)
        }
    }

    /// This process's standard error is a pipe nobody reads while two workers write 2.4 MB of
    /// lines to theirs: the map must still finish (the pool never blocks on it). Then the pipe is
    /// read: what waited comes through, whole lines, and a note about what was dropped.
    static func stderrUnread() -> Never {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0, dup2(ends[1], 2) == 2 else { print("ERROR pipe"); exit(2) }
        close(ends[1])
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        func isNote(_ line: String) -> Bool { line.hasPrefix("[ProcessPool: ") && line.contains("were dropped") }
        do {
            let pool = try ProcessPool(configuration: TestEnvironment.configuration(workers: 2))
            let written = try pool.map(TestTasks.errorLines, [Pair(2000, 600), Pair(2000, 600)], chunksize: 1)
            print("MAPPED \(written)")
            // Now read, while the pool is still up to retry what waits.
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let got = buffer.withUnsafeMutableBytes { read(ends[0], $0.baseAddress, $0.count) }
                if got > 0 {
                    bytes.append(contentsOf: buffer[0..<got])
                    if String(decoding: bytes.suffix(300), as: UTF8.self).split(separator: "\n").contains(where: { isNote(String($0)) }) { break }
                } else {
                    usleep(5_000)
                }
            }
            pool.close()
            try pool.join()
        } catch {
            print("ERROR \(error)")
            exit(1)
        }
        let lines = bytes.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        let isLine = { (line: String) in line.count == 599 && line.hasPrefix("err x") }
        let notes = lines.filter(isNote)
        let whole = lines.allSatisfy { isLine($0) || isNote($0) }
        print("LINES \(lines.count) NOTES \(notes.count) WHOLE \(whole)")
        if let bad = lines.first(where: { !isLine($0) && !isNote($0) }) { print("FIRST-BAD \(bad.prefix(80))") }
        exit(0)
    }

    /// A pool of 2 busy workers is asked for 40 under a descriptor limit that leaves room for
    /// only a few more: it must grow as far as it can, say why it stops, and finish the job.
    static func growPastDescriptorLimit() -> Never {
        let open = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
        // Each worker costs the parent 4 descriptors (three pipe ends and a pidfd), 3 more while
        // it is spawned; the pool 2 (epoll, eventfd). Room for about 4 workers.
        var limit = rlimit(rlim_cur: rlim_t(open + 2 + 3 * 6 + 2), rlim_max: rlim_t(open + 2 + 3 * 6 + 2))

        // The gate opens by a rename, which needs no descriptor: there may be none left.
        let gate = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(getpid())").path
        let closedGate = gate + ".closed"
        FileManager.default.createFile(atPath: closedGate, contents: Data())
        guard setrlimit(__rlimit_resource_t(7), &limit) == 0 else { print("ERROR setrlimit"); exit(2) }
        do {
            let pool = try ProcessPool(configuration: TestEnvironment.configuration(workers: 2))
            let faults = Mutex<[String]>([])
            let events = pool.events()
            let watcher = Task {
                for await event in events {
                    if case .workerFault(_, let message) = event.kind { faults.withLock { $0.append(message) } }
                }
            }
            let items = (0..<20).map { GatedValue($0, gate: gate) }
            let result = try pool.mapAsync(TestTasks.gatedValue, items, chunksize: 1)
            try pool.resize(workers: 40)
            let deadline = Date().addingTimeInterval(60)
            while faults.withLock({ $0.isEmpty }) && Date() < deadline { usleep(10_000) }
            // The last workers it started may not have said ready yet (a loaded machine): wait
            // for them. A count that includes workers it never got stays unequal.
            while pool.workerPIDs.count != pool.workerCount && Date() < deadline { usleep(10_000) }
            print("WORKERS \(pool.workerCount) \(pool.workerPIDs.count)")
            rename(closedGate, gate)
            let values = try result.get(timeout: .seconds(60))
            print("RESULT \(values == Array(0..<20) ? "right" : "wrong \(values)")")
            pool.close()
            try pool.join()
            watcher.cancel()
            for fault in faults.withLock({ $0 }) { print("FAULT \(fault)") }
            unlink(gate)
            exit(0)
        } catch {
            print("ERROR \(error)")
            unlink(gate)
            unlink(closedGate)
            exit(1)
        }
    }

    /// A `main` that never reached `WorkerProcess.runIfRequested`, started as a pool worker: it
    /// goes on to start a pool of its own, as a forgetful program would, and says what happened.
    static func forgetful() -> Never {
        do {
            let pool = try ProcessPool(configuration: .init(workers: 1))
            WorkerProcess.printLine("FORGETFUL a pool started inside a worker (\(pool.workerCount) worker)")
            pool.terminate()
            exit(0)
        } catch {
            WorkerProcess.printLine("FORGETFUL \(error)")
            exit(1)
        }
    }

    /// More pools than the cooperative pool has threads end at once (the `async`
    /// `withProcessPool`) while their lazy inputs, read by tasks on that same thread pool, are
    /// still being fed. A `join` that blocks its thread deadlocks here.
    static func poolsEndTogether() -> Never {
        let count = ProcessInfo.processInfo.activeProcessorCount * 2 + 1
        let done = DispatchSemaphore(value: 0)
        Task {
            let ended = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<count {
                    group.addTask {
                        do {
                            return try await withProcessPool(TestEnvironment.configuration(workers: 1)) { pool in
                                let stream = try pool.imap(TestTasks.square, SlowCounter(limit: 40))
                                await Task.yield()
                                return withExtendedLifetime(stream) { true }
                            }
                        } catch {
                            print("ERROR \(error)")
                            return false
                        }
                    }
                }
                var ended = 0
                for await ok in group where ok { ended += 1 }
                return ended
            }
            print("ENDED \(ended) of \(count)")
            done.signal()
        }
        done.wait()
        exit(0)
    }
}

/// 0, 1, … up to `limit`, each after a short sleep: an input still being fed when its pool ends.
struct SlowCounter: AsyncSequence, Sendable {
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let limit: Int
        var next = 0

        mutating func next() async -> Int? {
            guard next < limit else { return nil }
            try? await Task.sleep(for: .milliseconds(2))
            defer { next += 1 }
            return next
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(limit: limit) }
}
