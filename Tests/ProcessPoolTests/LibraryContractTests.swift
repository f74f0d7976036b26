import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import TerminalTestSupport
import Testing

/// What a real program depending on the library needs beyond Python's semantics: waiting without
/// blocking the cooperative pool, its own error types back, per-item outcomes, and misuse
/// reported at once in words that say what to do.
@Suite("Library contract", .timeLimit(.minutes(4)))
struct LibraryContractTests {
    private static func pool(workers: Int = 2) throws -> ProcessPool {
        try TestEnvironment.pool(workers: workers) { $0.registry = TestTasks.registry }
    }

    // MARK: nothing blocks the cooperative pool

    @Test("more pools than cooperative threads end at once while their lazy inputs are still fed: no deadlock")
    func poolsEndTogether() throws {
        let output = try ChildProcess.run(TestEnvironment.workerPath, ["scenario", "pools-end-together"],
                                          timeout: .seconds(120))
        let count = ProcessInfo.processInfo.activeProcessorCount * 2 + 1
        #expect(output.status == 0, "\(output.standardOutput)\n\(output.standardError)")
        #expect(output.standardOutput.contains("ENDED \(count) of \(count)"), "\(output.standardOutput)")
    }

    @Test("the async join waits for the workers without blocking, and refuses a running pool")
    func asyncJoin() async throws {
        let pool = try Self.pool()
        let pids = pool.workerPIDs
        await #expect(throws: PoolError.self) { try await pool.join() }
        #expect(try await pool.map(TestTasks.square, [1, 2, 3]) == [1, 4, 9])
        pool.close()
        try await pool.join()
        #expect(pool.workerPIDs.isEmpty)
        #expect(pids.allSatisfy { !TestEnvironment.isAlive($0) })
    }

    // MARK: errors

    @Test("a registered Codable error reaches the caller as itself, from apply, map and imap")
    func registeredErrorComesBackAsItself() async throws {
        let pool = try Self.pool()
        defer { pool.terminate() }
        do {
            _ = try await pool.apply(TestTasks.validate, -3)
            Issue.record("apply should have thrown")
        } catch let error as ValidationError {
            #expect(error == ValidationError(field: "x", value: -3))
        }
        await #expect(throws: ValidationError(field: "x", value: -2)) {
            try await pool.map(TestTasks.validate, [1, -2, 3])
        }
        await #expect(throws: ValidationError(field: "x", value: -1)) {
            try await pool.imap(TestTasks.validate, [0, -1]).collect()
        }
        // An error type that is not registered still arrives as a TaskError.
        await #expect(throws: TaskError.self) { try await pool.apply(TestTasks.failOn, Pair(4, 4)) }
    }

    @Test("mapResults gives every item's outcome in input order; one bad item does not fail the others")
    func mapResults() async throws {
        let pool = try Self.pool()
        defer { pool.terminate() }
        let outcomes = try await pool.mapResults(TestTasks.validate, [1, -2, 3, -4, 5], chunksize: 2)
        #expect(outcomes.count == 5)
        #expect(outcomes.map { try? $0.get() } == [1, nil, 3, nil, 5])
        for (index, value) in [(1, -2), (3, -4)] {
            guard case .failure(let error) = outcomes[index] else {
                Issue.record("item \(index) should have failed")
                continue
            }
            #expect(error as? ValidationError == ValidationError(field: "x", value: value))
        }
        let failures = try await pool.mapResults(TestTasks.failOn, [Pair(1, 2), Pair(2, 2)])
        #expect(try failures[0].get() == 1)
        #expect(throws: TaskError.self) { try failures[1].get() }
        #expect(try await pool.mapResults(TestTasks.square, [Int]()).isEmpty)
    }

    @Test("imapResults streams each item's outcome, going on past failures")
    func imapResults() async throws {
        let pool = try Self.pool()
        defer { pool.terminate() }
        var values: [Int?] = []
        for try await outcome in try pool.imapResults(TestTasks.validate, [-1, 2, -3, 4]) {
            values.append(try? outcome.get())
        }
        #expect(values == [nil, 2, nil, 4])
    }

    // MARK: misuse

    @Test("a task handle whose types differ from the registered task's is refused at submission, naming both")
    func mismatchedHandle() async throws {
        let pool = try Self.pool()
        defer { pool.terminate() }
        let wrong = PoolTask<String, Int>(name: "square")
        for submit in [{ _ = try pool.applyAsync(wrong, "7") }, { _ = try pool.mapAsync(wrong, ["7"]) },
                       { _ = try pool.imap(wrong, ["7"]) }] {
            #expect {
                try submit()
            } throws: { error in
                guard let error = error as? PoolError, error.code == .misuse else { return false }
                return error.message.contains("Swift.String") && error.message.contains("Swift.Int")
                    && error.message.contains("square")
            }
        }
        #expect(try await pool.apply(TestTasks.square, 7) == 49, "the right handle still works")
    }

    @Test("a second consumer of a ResultStream gets a clear error instead of hanging")
    func secondConsumer() async throws {
        let pool = try Self.pool()
        defer { pool.terminate() }
        let stream = try pool.imap(TestTasks.square, Array(0..<5))
        var first = stream.makeAsyncIterator()
        var second = stream.makeAsyncIterator()
        await #expect {
            _ = try await second.next()
        } throws: { error in
            (error as? PoolError)?.code == .misuse && "\(error)".contains("one")
        }
        var values: [Int] = []
        while let value = try await first.next() { values.append(value) }
        #expect(values == [0, 1, 4, 9, 16])
    }

    @Test("a worker whose main never reaches runIfRequested: its pool refuses to start and says what to do")
    func forgottenRunIfRequested() async throws {
        var configuration = TestEnvironment.configuration(workers: 1)
        configuration.arguments = ["forgetful"]
        configuration.captureOutput = true
        let pool = try ProcessPool(configuration: configuration)
        defer { pool.terminate() }
        let recorder = EventRecorder(pool)
        await #expect(throws: PoolError.self) { try await pool.apply(TestTasks.square, 2) }
        let said = { recorder.all.compactMap { kind -> String? in
            if case .workerOutput(_, let line) = kind, line.hasPrefix("FORGETFUL") { return line }
            return nil
        } }
        #expect(await eventually { !said().isEmpty })
        #expect(said().allSatisfy { $0.contains("runIfRequested") && $0.contains("first thing in main") }, "\(said())")
        #expect(!said().contains { $0.contains("a pool started inside a worker") })
    }

    @Test("workers that never say ready (a program that neither serves nor exits) are given up on within a bound")
    func workersNeverReady() async throws {
        var configuration = TestEnvironment.configuration(workers: 1)
        configuration.executable = "/bin/sleep"
        configuration.arguments = ["120"]
        // Short on purpose: `sleep` never says ready however long it is given, so no load can
        // make this worker start in time, and each kill is the timeout's own.
        configuration.startupTimeout = .milliseconds(200)
        let pool = try ProcessPool(configuration: configuration)
        defer { pool.terminate() }
        let recorder = EventRecorder(pool)
        let attempt = Task { try await pool.apply(TestTasks.square, 2) }
        let ended = await outcome(of: attempt, within: 60)
        guard case .failure(let error as PoolError)? = ended else {
            Issue.record("the submission should fail once the pool gives up: \(String(describing: ended))")
            attempt.cancel()
            return
        }
        #expect(error.code == .spawnFailed, "\(error)")
        // The timeout's own SIGKILL counts as a failure to start (unlike a kill from outside,
        // see `outsideKillsOfStartingWorkers`): it is what made the pool give up.
        #expect(error.message.contains("keep exiting before they start") && error.message.contains("SIGKILL"), "\(error)")
        #expect(recorder.faults.contains { $0.contains("did not say ready") }, "\(recorder.faults)")
    }

    @Test("SIGKILL from outside of workers that have not said ready yet does not count as failing to start")
    func outsideKillsOfStartingWorkers() async throws {
        var configuration = TestEnvironment.configuration(workers: 1)
        configuration.executable = "/bin/sleep"
        configuration.arguments = ["120"]
        configuration.startupTimeout = nil  // only the test's kills end these workers
        let pool = try ProcessPool(configuration: configuration)
        defer { pool.terminate() }
        let recorder = EventRecorder(pool)
        var killed: Set<Int32> = []
        // More kills than the pool tolerates failures to start in a row (5).
        for _ in 0..<8 {
            var victim: Int32?
            #expect(await eventually {
                victim = pool.workerPIDs.first { !killed.contains($0) }
                return victim != nil
            }, "a replacement worker after \(killed.count) kills")
            guard let victim else { return }
            killed.insert(victim)
            kill(victim, SIGKILL)
        }
        #expect(await eventually { pool.workerPIDs.contains { !killed.contains($0) } }, "still replaced after 8 kills")
        #expect(!recorder.faults.contains { $0.contains("keep exiting") }, "\(recorder.faults)")
    }

    // MARK: the initializer

    @Test("the initializer runs as each worker starts, before any task is submitted")
    func initializerRunsAtStart() async throws {
        let marker = TestEnvironment.temporaryDirectory().appendingPathComponent("initialized").path
        let pool = try TestEnvironment.pool(workers: 1) { $0.initializer = try? TestTasks.touch.initializer(marker) }
        defer { pool.terminate() }
        // Nothing is asked of the pool meanwhile (no task, no event subscription).
        #expect(await eventually { access(marker, F_OK) == 0 }, "the initializer ran without waiting for a task")
    }

    @Test("a failing initializer is reported at once: its workers stop, and the next submission fails with it")
    func failingInitializerReportedAtOnce() async throws {
        let pool = try TestEnvironment.pool(workers: 2) { $0.initializer = try? TestTasks.failingInitializer.initializer(0) }
        defer { pool.terminate() }
        #expect(await eventually { pool.workerPIDs.isEmpty }, "the workers ran the initializer at start, failed, and were not replaced")
        #expect {
            try pool.apply(TestTasks.square, 2)
        } throws: { ($0 as? PoolError)?.code == .initializerFailed && "\($0)".contains("rejected -1") }
    }
}
