import CSystemShims
import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import Testing

/// The pool's end of the monitor channel, with a real socket and a monitor played by the test.
@Suite("Monitor channel", .timeLimit(.minutes(4)), .serialized)
struct MonitorChannelTests {
    /// A monitor's end of one connection: reads JSON lines with a deadline, writes commands.
    final class MonitorEnd {
        let fd: Int32
        private var buffer: [UInt8] = []

        init(fd: Int32) { self.fd = fd }
        deinit { close(fd) }

        /// The next line, waiting up to `seconds`.
        func nextLine(within seconds: Double = 30) throws -> String {
            let deadline = Date().addingTimeInterval(seconds)
            while true {
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    defer { buffer.removeFirst(newline + 1) }
                    return String(decoding: buffer[..<newline], as: UTF8.self)
                }
                guard Date() < deadline else { throw ChannelTestError("no line within \(seconds) s") }
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, 100)
                var chunk = [UInt8](repeating: 0, count: 65_536)
                let count = read(fd, &chunk, chunk.count)
                if count > 0 { buffer.append(contentsOf: chunk[0..<count]) }
                if count == 0 { throw ChannelTestError("the pool hung up") }
            }
        }

        func nextMessage(within seconds: Double = 30) throws -> ChannelMessage {
            try ChannelMessage(line: try nextLine(within: seconds))
        }

        /// Reads messages until one satisfies `match`.
        @discardableResult
        func waitFor<T>(_ what: String, within seconds: Double = 30, _ match: (ChannelMessage) -> T?) throws -> T {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if let found = match(try nextMessage(within: deadline.timeIntervalSinceNow)) { return found }
            }
            throw ChannelTestError("no \(what) within \(seconds) s")
        }

        func send(_ command: ChannelCommand) {
            let line = command.line + "\n"
            _ = line.withCString { cshim_send_nosignal(fd, $0, strlen($0)) }
        }
    }

    struct ChannelTestError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// A listening socket in a fresh directory, as `poolmon watch -- CMD` makes one.
    func monitorSocket() throws -> (path: String, listener: Int32) {
        let directory = TestEnvironment.temporaryDirectory().path
        chmod(directory, 0o700)
        let path = directory + "/monitor.sock"
        let listener = cshim_unix_listen(path, 4)
        guard listener >= 0 else { throw ChannelTestError("listen: \(String(cString: strerror(errno)))") }
        return (path, listener)
    }

    func accept(_ listener: Int32, within seconds: Double = 30) throws -> MonitorEnd {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let fd = cshim_unix_accept(listener)
            if fd >= 0 { return MonitorEnd(fd: fd) }
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, 100)
        }
        throw ChannelTestError("no pool connected")
    }

    @Test("a pool connects to the monitor's socket: hello, its whole life as events, commands answered")
    func connectAndControl() async throws {
        let (path, listener) = try monitorSocket()
        defer { close(listener) }
        let pool = try TestEnvironment.pool(workers: 2) { $0.monitorSocket = path }
        defer { pool.terminate() }
        let monitor = try accept(listener)
        guard case .hello(let hello) = try monitor.nextMessage() else { Issue.record("the first line is a hello"); return }
        #expect(hello.pid == getpid() && hello.pool == pool.id && hello.workers == 2 && hello.engine == "swift")
        #expect(hello.schemaVersion == PoolEvent.jsonSchemaVersion && hello.protocolVersion == MonitorChannel.protocolVersion)
        guard case .event(let first) = try monitor.nextMessage(), case .poolCreated(let id, let pid, _) = first.kind else {
            Issue.record("events begin with poolCreated"); return
        }
        #expect(id == pool.id && pid == getpid())

        // Resize: answered, and the pool really grows.
        monitor.send(ChannelCommand(id: 1, .resize(workers: 3)))
        let resized = try monitor.waitFor("the reply to resize") { if case .reply(let reply) = $0, reply.id == 1 { reply } else { nil } }
        #expect(resized.accepted)
        #expect(eventuallyTrue { pool.workerPIDs.count == 3 })
        // A PID that is not a worker is refused, whatever it is.
        monitor.send(ChannelCommand(id: 2, .signal(pid: getpid(), signal: SIGKILL)))
        let refused = try monitor.waitFor("the reply to signal") { if case .reply(let reply) = $0, reply.id == 2 { reply } else { nil } }
        #expect(!refused.accepted && refused.message?.contains("not a worker") == true)
        // The chunk size of the next submissions.
        monitor.send(ChannelCommand(id: 3, .chunksize(3)))
        _ = try monitor.waitFor("settingsChanged") { if case .event(let e) = $0, case .settingsChanged(3) = e.kind { true } else { nil } }
        #expect(pool.chunksizeOverride == 3)
        let values = try await pool.mapAsync(TestTasks.square, Array(0..<12)).value
        #expect(values == (0..<12).map { $0 * $0 })
        let job = try monitor.waitFor("the job") { if case .event(let e) = $0, case .jobSubmitted(let job) = e.kind { job } else { nil } }
        #expect(job.chunksize == 3 && !job.chunksizeIsAutomatic)
        // SIGKILL to a real worker: it is replaced, and the pool still works.
        let victim = try #require(pool.workerPIDs.first)
        monitor.send(ChannelCommand(id: 4, .signal(pid: victim, signal: SIGKILL)))
        let killed = try monitor.waitFor("the reply to kill") { if case .reply(let reply) = $0, reply.id == 4 { reply } else { nil } }
        #expect(killed.accepted)
        _ = try monitor.waitFor("the victim's exit") {
            if case .event(let e) = $0, case .workerExited(_, victim, .signaled(SIGKILL), _, _) = e.kind { true } else { nil }
        }
        #expect(try await pool.mapAsync(TestTasks.square, [7]).value == [49])
        pool.close()
        try await pool.join()
        _ = try monitor.waitFor("the end") { if case .event(let e) = $0, case .poolStateChanged(.finished) = e.kind { true } else { nil } }
    }

    @Test("a monitor that never reads does not slow or block the pool: events are dropped and counted")
    func stuckMonitor() async throws {
        let (path, listener) = try monitorSocket()
        defer { close(listener) }
        let pool = try TestEnvironment.pool(workers: 2) { $0.monitorSocket = path }
        let monitor = try accept(listener)
        // 300,000 failing items, an event each (a failure is never part of a run): far more than
        // the socket, the link's 1 MiB buffer and its 65,536-event queue hold. With 100,000 (some
        // 11 MB of lines) the margin was thin: 2 of 6 runs alone dropped nothing (session 9).
        let failing = (0..<300_000).map { Pair($0, 0) }
        await #expect(throws: TaskError.self) { try await pool.mapAsync(TestTasks.failAfter, failing, chunksize: 1).value }
        pool.close()
        try await pool.join()  // gives the stuck monitor a moment, then returns
        #expect(pool.droppedEventCount > 0, "what did not fit was dropped and counted")
        _ = monitor
    }

    @Test("a monitor that goes away mid-run leaves the pool working")
    func monitorGone() async throws {
        let (path, listener) = try monitorSocket()
        defer { close(listener) }
        let pool = try TestEnvironment.pool(workers: 2) { $0.monitorSocket = path }
        defer { pool.terminate() }
        var monitor: MonitorEnd? = try accept(listener)
        _ = try monitor?.nextMessage()
        monitor = nil  // closes the connection
        for _ in 0..<3 {
            #expect(try await pool.mapAsync(TestTasks.square, Array(0..<5000), chunksize: 1).value.count == 5000)
        }
    }

    @Test("an attachable pool listens in a private directory, takes late monitors with a snapshot, and cleans up")
    func attachable() async throws {
        let pool = try TestEnvironment.pool(workers: 2) { $0.attachable = true }
        let path = try #require(pool.attachSocketPath)
        let directory = (path as NSString).deletingLastPathComponent
        var info = stat()
        #expect(lstat(directory, &info) == 0 && info.st_mode & 0o777 == 0o700, "the directory is 0700")
        #expect(lstat(path, &info) == 0 && info.st_mode & 0o777 == 0o600, "the socket is 0600")
        #expect(path.hasSuffix("/\(getpid())-\(pool.id).sock"))
        let gate = TestEnvironment.temporaryDirectory().appendingPathComponent("attach-gate").path
        let result = try pool.mapAsync(TestTasks.gatedValue, [GatedValue(1, gate: gate), GatedValue(2, gate: gate)], chunksize: 1,
                                       label: "waiting")
        // Submission goes through the IO thread: connect once the job is under way.
        var events = pool.events().makeAsyncIterator()
        while let event = await events.next() { if case .chunkDispatched = event.kind { break } }
        let fd = cshim_unix_connect(path)
        #expect(fd >= 0)
        let monitor = MonitorEnd(fd: fd)
        guard case .hello(let hello) = try monitor.nextMessage() else { Issue.record("hello first"); return }
        #expect(hello.jobsRunning == 1)
        let job = try monitor.waitFor("the running job in the snapshot") {
            if case .event(let e) = $0, case .jobSubmitted(let job) = e.kind { job } else { nil }
        }
        #expect(job.label == "waiting")
        TestEnvironment.open(gate)
        #expect(try await result.value == [1, 2])
        pool.close()
        try await pool.join()
        #expect(eventuallyTrue { access(path, F_OK) != 0 }, "the socket is removed when the pool ends")
    }

    @Test("another user cannot reach an attachable pool")
    func otherUser() async throws {
        let python = "/usr/bin/python3"
        let setpriv = "/usr/bin/setpriv"
        guard getuid() == 0, access(python, X_OK) == 0, access(setpriv, X_OK) == 0 else {
            // Needs root to become another user, and a system python3 that user may run.
            return
        }
        let pool = try TestEnvironment.pool(workers: 1) { $0.attachable = true }
        defer { pool.terminate() }
        let path = try #require(pool.attachSocketPath)
        let script = """
        import socket
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(\(String(reflecting: path)))
            print("CONNECTED", s.recv(100))
        except OSError as e:
            print("REFUSED", e.errno)
        """
        let output = try runCapturing(setpriv, ["--reuid", "nobody", "--regid", "nogroup", "--clear-groups", python, "-c", script])
        #expect(output.hasPrefix("REFUSED"), "nobody could connect: \(output)")
    }

    func runCapturing(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func eventuallyTrue(within seconds: Double = 30, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}
