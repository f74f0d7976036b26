import ArgumentParser
import Foundation
import Glibc
@testable import poolmon
import PoolMonitor
import ProcessPool
import TerminalTestSupport
import Testing

/// Issue 13 in the `poolmon` executable without a terminal: options, the tutorial's task
/// times, and the `/proc` sampler.
@Suite("poolmon options and sampling for the htop habits")
struct HtopOptionsTests {
    @Test("watch takes run's --quiet, as README says; the default subcommand too")
    func watchQuiet() throws {
        let watch = try WatchCommand.parse(["--quiet", "--workers", "2"])
        #expect(watch.quiet)
        let plain = try WatchCommand.parse([])
        #expect(!plain.quiet)
    }

    @Test("--mode imap varies task times by ±50% unless told otherwise; map_async keeps them equal")
    func jitterDefaults() throws {
        let imap = RunSettings(try DemoOptions.parse(["--mode", "imap"]), quiet: true)
        #expect(imap.jitter == 0.5)
        #expect(imap.monitorSettings.taskJitter == 0.5, "the header says so")
        #expect(RunSettings(try DemoOptions.parse([]), quiet: true).jitter == 0)
        #expect(RunSettings(try DemoOptions.parse(["--mode", "imap", "--jitter", "0"]), quiet: true).jitter == 0)
        #expect(RunSettings(try DemoOptions.parse(["--jitter", "0.2"]), quiet: true).jitter == 0.2)
        #expect(throws: (any Error).self) { try DemoOptions.parse(["--jitter", "1.5"]) }
        #expect(throws: (any Error).self) { try DemoOptions.parse(["--jitter", "nan"]) }
        // `m` to imap between runs: the next run gets imap's spread.
        var settings = RunSettings(try DemoOptions.parse([]), quiet: true)
        settings.apply(MonitorSettings(workers: 2, mode: .imap))
        #expect(settings.jitter == 0.5)
    }

    @Test("with jitter the tutorial's items take different times within the spread, the same every run, averaging the delay")
    func jitteredItems() {
        let items = Array(DemoTasks.work(count: 200, delay: 1, quiet: true, jitter: 0.5, seed: 1))
        let delays = items.map(\.delayNanoseconds)
        #expect(Set(delays).count > 150, "times differ")
        #expect(delays.allSatisfy { $0 >= 500_000_000 && $0 <= 1_500_000_000 })
        let mean = Double(delays.reduce(0, +)) / Double(delays.count)
        #expect(abs(mean - 1e9) < 0.1e9)
        #expect(Array(DemoTasks.work(count: 200, delay: 1, quiet: true, jitter: 0.5, seed: 1)) == items, "deterministic")
        let product = Array(DemoTasks.work(count: 200, delay: 1, quiet: true, jitter: 0.5, seed: 2)).map(\.delayNanoseconds)
        #expect(product != delays, "sum and product vary differently")
        #expect(Set(DemoTasks.work(count: 50, delay: 1, quiet: true).map(\.delayNanoseconds)) == [1_000_000_000])
    }

    @Test("a big tutorial run submits product right after sum, not after sum's input is encoded")
    func productSubmittedAtOnce() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("poolmon-big-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let count = ProcessPool.backgroundEncodingThreshold * 2
        let run = try ChildProcess.run(PoolmonProcess.executable, ["run", "--count", "\(count)", "--delay", "0", "--chunksize", "1000",
                                                                 "--quiet", "--workers", "2", "--events", log], timeout: .seconds(600))
        #expect(run.status == 0, "\(run.standardError)")
        let events = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map { try PoolEvent(jsonLine: String($0)) }
        let productSubmitted = try #require(events.firstIndex {
            if case .jobSubmitted(let job) = $0.kind { job.label == "product" } else { false }
        })
        let sumQueued = events.indices.filter {
            if case .chunksQueued(let job, _, _, _, _, _) = events[$0].kind { job == 1 } else { false }
        }
        #expect(sumQueued.count > 1, "sum's input queued a slice at a time")
        #expect(productSubmitted < (sumQueued.last ?? 0), "product exists before sum's input is all encoded")
    }

    @Test("/proc/PID/stat is parsed from the last parenthesis; malformed lines give nil, never a trap")
    func parseStat() throws {
        let line = "4242 (poolmon (worker) x) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 1 0 100 123456 789 18446744073709551615"
        let stat = try #require(WorkerResourceSampler.parseStat(line))
        #expect(stat.state == "S")
        #expect(stat.ticks == 300)
        #expect(stat.residentPages == 789)
        for bad in ["", "4242 (x", "4242 (x) S 1 2", "4242 (x) S a b c d e f g h i j k l m n o p q r s t u v w",
                    "1 (x) T " + Array(repeating: "99999999999999999999999", count: 30).joined(separator: " ")] {
            #expect(WorkerResourceSampler.parseStat(bad) == nil, "\(bad)")
        }
    }

    @Test("the sampler measures a busy child's CPU and memory, and sees it stopped")
    func sampleChild() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", "while :; do :; done"]
        try child.run()
        let pid = child.processIdentifier
        defer {
            kill(pid, SIGKILL)
            child.waitUntilExit()
        }
        var sampler = WorkerResourceSampler()
        let start = DispatchTime.now().uptimeNanoseconds
        _ = sampler.sample([pid], now: start)
        // Poll: on a loaded machine the child may get little CPU at first.
        var busy = false
        let deadline = Date().addingTimeInterval(30)
        while !busy && Date() < deadline {
            usleep(200_000)
            let samples = sampler.sample([pid], now: DispatchTime.now().uptimeNanoseconds)
            busy = (samples.first?.cpuPercent ?? 0) > 0 && (samples.first?.residentBytes ?? 0) > 0
        }
        #expect(busy, "CPU time and resident memory measured")
        kill(pid, SIGSTOP)
        var stopped = false
        while !stopped && Date() < deadline {
            stopped = sampler.sample([pid], now: DispatchTime.now().uptimeNanoseconds).first?.stopped == true
            if !stopped { usleep(50_000) }
        }
        #expect(stopped)
        #expect(sampler.sample([999_999_999, -1], now: DispatchTime.now().uptimeNanoseconds).isEmpty, "no such process: left out")
    }
}
