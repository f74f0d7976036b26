import Foundation
import Glibc
import ProcessPool
import Testing

/// `poolmon run --events`: the log is written as the run goes, to whatever the path names
/// (a file, a symlink, a FIFO, standard output, a device), and it survives the run being stopped.
@Suite("poolmon run --events, written as the run goes")
struct LiveEventLogTests {
    func scratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("poolmon-events-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The complete lines of a log (up to its last newline), parsed; a line that does not parse
    /// fails the test.
    func completeEvents(_ path: String) -> [PoolEvent] {
        guard let data = FileManager.default.contents(atPath: path),
              let end = data.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        return data[..<end].split(separator: UInt8(ascii: "\n")).compactMap { line in
            let text = String(decoding: line, as: UTF8.self)
            do {
                return try PoolEvent(jsonLine: text)
            } catch {
                Issue.record("not an event line: \(text) (\(error))")
                return nil
            }
        }
    }

    /// Every line of the file parsed, and the file ends with a newline (no partial last line).
    func wholeLog(_ path: String) throws -> [PoolEvent] {
        let data = try #require(FileManager.default.contents(atPath: path))
        #expect(data.last == UInt8(ascii: "\n"), "the log ends with a complete line")
        return completeEvents(path)
    }

    func isItemStarted(_ event: PoolEvent) -> Bool {
        if case .itemStarted = event.kind { true } else { false }
    }

    func startedPIDs(_ events: [PoolEvent]) -> Set<Int32> {
        Set(events.compactMap { if case .workerStarted(_, let pid, _) = $0.kind { pid } else { nil } })
    }

    @Test("a live run's log already holds complete lines while the run goes on")
    func liveLog() throws {
        let log = try scratchDirectory().appendingPathComponent("live.jsonl").path
        let run = try PoolmonProcess(["run", "--workers", "2", "--delay", "0.5", "--count", "20", "--events", log])
        defer { kill(run.pid, SIGKILL); run.waitForExit() }
        #expect(eventually { completeEvents(log).contains(where: isItemStarted) })
        #expect(processExists(run.pid), "the run is still going when its first task starts are in the file")
        let events = completeEvents(log)
        if case .poolCreated = events.first?.kind {} else { Issue.record("the log begins with the pool's creation: \(events.prefix(1))") }
    }

    @Test("a symlink is followed: the target gets the log and the link stays a link")
    func symlink() throws {
        let scratch = try scratchDirectory()
        let target = scratch.appendingPathComponent("target.jsonl").path
        let link = scratch.appendingPathComponent("link.jsonl").path
        try Data("stale content that must go\n".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let run = try PoolmonProcess.run(["run", "--workers", "2", "--delay", "0", "--quiet", "--events", link])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == target, "still a symlink to the target")
        let events = try wholeLog(target)
        #expect(events.last?.kind == .poolStateChanged(.finished))
        #expect(!(String(data: FileManager.default.contents(atPath: target) ?? Data(), encoding: .utf8) ?? "").contains("stale"))
    }

    @Test("--events /dev/stdout and --events - put the JSON lines on standard output, beside the run's own lines",
          arguments: ["/dev/stdout", "-"])
    func standardOutput(path: String) throws {
        let run = try PoolmonProcess.run(["run", "--workers", "2", "--delay", "0", "--events", path])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let eventLines = lines.filter { $0.hasPrefix("{") }
        let events = eventLines.compactMap { try? PoolEvent(jsonLine: $0) }
        #expect(!events.isEmpty)
        #expect(events.count == eventLines.count, "every JSON line is whole")
        #expect(events.contains { $0.kind == .poolStateChanged(.finished) })
        #expect(lines.filter { $0.hasPrefix("Worker ") }.count == 20, "the workers' lines are there too")
        #expect(lines.contains("Sum of sums of 'a' and 'b' is 210"))
        #expect(lines.contains("Sum of products of 'a' and 'b' is 935"))
    }

    @Test("a FIFO is written as a stream: a reader on it receives the whole log")
    func fifo() throws {
        let fifo = try scratchDirectory().appendingPathComponent("events.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        // Non-blocking, so that the test never waits forever on a FIFO nobody opens for writing.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        try #require(reader >= 0)
        defer { close(reader) }
        let run = try PoolmonProcess(["run", "--workers", "2", "--delay", "0", "--quiet", "--events", fifo])
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let finished = eventually {
            while true {
                let count = read(reader, &buffer, buffer.count)
                if count > 0 { received += buffer[0..<count] } else { break }
            }
            return String(decoding: received, as: UTF8.self).contains(#""event":"poolState","state":"finished""#)
                && !run.process.isRunning
        }
        #expect(finished, "received: \(String(decoding: received.suffix(300), as: UTF8.self))")
        run.waitForExit()
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(received.last == UInt8(ascii: "\n"))
        let lines = received.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        for line in lines { #expect((try? PoolEvent(jsonLine: line)) != nil, "\(line)") }
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO, "the FIFO is still a FIFO")
    }

    @Test("a full device ends the run: status 74, one line naming the path and the reason, no worker left")
    func deviceFull() throws {
        let run = try PoolmonProcess.run(["run", "--workers", "2", "--delay", "0.5", "--count", "20", "--events", "/dev/full"])
        #expect(run.status == 74, "stderr: \(run.stderr)")
        #expect(run.stderr == "poolmon: cannot write the event log '/dev/full': No space left on device\n")
        #expect(!run.stdout.contains("Sum of"), "no totals from a run that was cut short")
        for pid in run.workerPIDsFromOutput { #expect(!processExists(pid), "worker \(pid) was reaped") }
        var info = stat()
        #expect(lstat("/dev/full", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR, "/dev/full is still a device")
    }

    @Test("a reader that goes away (EPIPE) ends the run: status 74, one line, its workers reaped")
    func readerGone() throws {
        let fifo = try scratchDirectory().appendingPathComponent("events.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        try #require(reader >= 0)
        let run = try PoolmonProcess(["run", "--workers", "2", "--delay", "0.5", "--count", "20", "--events", fifo])
        defer { kill(run.pid, SIGKILL); run.waitForExit() }
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        // Read until both workers have started a task, then stop reading.
        let busy = eventually {
            while true {
                let count = read(reader, &buffer, buffer.count)
                if count > 0 { received += buffer[0..<count] } else { break }
            }
            return String(decoding: received, as: UTF8.self).components(separatedBy: #""event":"itemStarted""#).count > 2
        }
        close(reader)
        try #require(busy)
        let text = String(decoding: received, as: UTF8.self)
        let lines = text.split(separator: "\n").dropLast(text.hasSuffix("\n") ? 0 : 1)
        let workers = startedPIDs(lines.compactMap { try? PoolEvent(jsonLine: String($0)) })
        #expect(workers.count >= 2)
        // Events go on (each task's start and end): the next write finds no reader.
        #expect(eventually { !run.process.isRunning })
        run.waitForExit()
        #expect(run.status == 74, "stderr: \(run.stderr)")
        #expect(run.stderr == "poolmon: cannot write the event log '\(fifo)': Broken pipe\n")
        for pid in workers { #expect(!processExists(pid), "worker \(pid) was reaped") }
    }

    @Test("SIGKILL mid-run leaves the lines already flushed, complete")
    func killedRun() throws {
        let log = try scratchDirectory().appendingPathComponent("killed.jsonl").path
        let run = try PoolmonProcess(["run", "--workers", "2", "--delay", "0.5", "--count", "20", "--events", log])
        #expect(eventually { completeEvents(log).filter(isItemStarted).count >= 2 })
        #expect(processExists(run.pid), "killed mid-run")
        kill(run.pid, SIGKILL)
        run.waitForExit()
        #expect(run.process.terminationReason == .uncaughtSignal && run.status == SIGKILL)
        let events = try wholeLog(log)
        #expect(events.filter(isItemStarted).count >= 2)
    }

    @Test("SIGTERM and SIGINT mid-run leave every event up to the stop in the log", arguments: [SIGTERM, SIGINT])
    func stoppedRun(signal: Int32) throws {
        let log = try scratchDirectory().appendingPathComponent("stopped.jsonl").path
        let run = try PoolmonProcess(["run", "--workers", "2", "--delay", "0.5", "--count", "20", "--events", log])
        #expect(eventually { Set(run.workerPIDsFromOutput).count == 2 })
        let printed = Set(run.workerPIDsFromOutput)
        kill(run.pid, signal)
        run.waitForExit()
        #expect(run.status == 128 + signal, "stderr: \(run.stderr)")
        let events = try wholeLog(log)
        // The stop itself is the last thing the pool did: everything before it is in the file.
        #expect(events.contains { $0.kind == .poolStateChanged(.terminated) })
        #expect(events.last?.kind == .poolStateChanged(.finished))
        let exited = Set(events.compactMap { event -> Int32? in
            if case .workerExited(_, let pid, _, .terminated, _) = event.kind { pid } else { nil }
        })
        #expect(printed.isSubset(of: exited), "each worker that printed was terminated, and the log says so")
        #expect(startedPIDs(events).isSuperset(of: printed))
    }

    @Test("SIGTERM in a flood of events (tiny tasks) still leaves every event up to the stop")
    func stoppedFlood() throws {
        let log = try scratchDirectory().appendingPathComponent("flood.jsonl").path
        let run = try PoolmonProcess(["run", "--workers", "2", "--delay", "0", "--quiet", "--count", "1000000", "--chunksize", "1", "--events", log])
        #expect(eventually { completeEvents(log).count >= 2000 })
        kill(run.pid, SIGTERM)
        run.waitForExit()
        #expect(run.status == 128 + SIGTERM, "stderr: \(run.stderr)")
        let events = try wholeLog(log)
        #expect(events.contains { $0.kind == .poolStateChanged(.terminated) })
        #expect(events.last?.kind == .poolStateChanged(.finished))
    }
}
