import CSystemShims
import Foundation
import Glibc

/// A pool's end of the monitor channel (see ``MonitorChannel``): a thread of its own that
/// connects to a monitor or listens for monitors, streams the pool's events to each, and carries
/// out their commands.
///
/// The pool never waits for it. Each connection has its own event subscription with a bounded
/// queue, and its own output buffer with a bound: when a monitor stops reading, the buffer fills,
/// the link stops taking events, the subscription's queue fills, and the hub drops and counts
/// what does not fit, announcing the count when there is room again. Sockets are non-blocking;
/// the thread sleeps in `poll`.
final class MonitorLink: @unchecked Sendable {
    // Safe: everything mutable below is touched only by the link's own thread once `start` has
    // handed it over, except `drained`, which lives behind `drainedCondition`.

    /// Where the link's socket comes from.
    enum Mode {
        /// Connect to a monitor listening at this path (`poolmon watch -- CMD`).
        case connect(String)
        /// Listen in the attach directory for monitors that come later (`poolmon attach`).
        case listen
    }

    /// One monitor on the other end.
    private final class Client {
        let fd: Int32
        let subscription: SubscriptionHandle
        var output: [UInt8] = []
        var written = 0
        var input: [UInt8] = []
        var subscriptionEnded = false
        var broken = false

        init(fd: Int32, subscription: SubscriptionHandle) {
            self.fd = fd
            self.subscription = subscription
        }

        var pendingBytes: Int { output.count - written }

        func append(_ line: String) {
            output.append(contentsOf: line.utf8)
            output.append(UInt8(ascii: "\n"))
        }
    }

    /// Bytes of encoded events held for one monitor before the link stops taking more.
    private static let outputLimit = 1 << 20
    /// Events the hub holds for one monitor beyond that.
    private static let subscriptionLimit = 65_536
    /// A command line longer than this is not a command: the peer is cut off.
    private static let inputLimit = 64 * 1024

    private let shared: PoolShared
    private let mode: Mode
    private var listener: Int32 = -1
    private var socketPath: String?
    private var clients: [Client] = []
    private var commandsHandled = 0
    private let drainedCondition = NSCondition()
    private var drained = false

    private init(shared: PoolShared, mode: Mode) {
        self.shared = shared
        self.mode = mode
    }

    /// The path an attachable pool listens at, if it is listening.
    var listeningPath: String? { socketPath }

    /// Starts the link the configuration or the environment asks for, if any. Called by the
    /// pool's initializer once the IO thread runs, so that a connected monitor's snapshot is the
    /// pool's very beginning.
    /// - Returns: nil when no monitor is wanted, or when the socket cannot be set up (the pool
    ///   then runs unwatched; a pool must not fail because its monitor is gone).
    static func start(shared: PoolShared, mode: Mode) -> MonitorLink? {
        let link = MonitorLink(shared: shared, mode: mode)
        switch mode {
        case .connect(let path):
            let fd = cshim_unix_connect(path)
            guard fd >= 0 else { return nil }
            var uid: uid_t = 0
            var pid: pid_t = 0
            // The monitor must be ours too: a socket path from the environment could be anyone's.
            guard cshim_peer_credentials(fd, &uid, &pid) == 0, MonitorChannel.peerAllowed(uid: uid) else {
                close(fd)
                return nil
            }
            guard let client = link.makeClient(fd: fd) else {
                close(fd)
                return nil
            }
            link.clients.append(client)
        case .listen:
            let directory = MonitorChannel.attachDirectory()
            do {
                try MonitorChannel.preparePrivateDirectory(directory)
            } catch {
                FileHandle.standardError.write(Data("ProcessPool: this pool is not attachable: \(error)\n".utf8))
                return nil
            }
            let path = directory + "/" + MonitorChannel.socketName(pid: getpid(), pool: shared.poolID)
            unlink(path)  // a stale socket of an earlier process with our PID
            let fd = cshim_unix_listen(path, 8)
            guard fd >= 0 else {
                FileHandle.standardError.write(Data("ProcessPool: this pool is not attachable: cannot listen at '\(path)': \(errnoDescription())\n".utf8))
                return nil
            }
            link.listener = fd
            link.socketPath = path
        }
        do {
            try DedicatedThread.start(name: "ProcessPool monitor link") { link.run() }
        } catch {
            // No thread for the link (a process limit): the pool runs unwatched.
            for client in link.clients { close(client.fd) }
            if link.listener >= 0 { close(link.listener) }
            if let path = link.socketPath { unlink(path) }
            return nil
        }
        return link
    }

    /// Waits (at most `timeout`) until every event of the finished pool has gone to every
    /// connected monitor: `join()` and `terminate()` call this, so that a program that ends right
    /// after them still shows its monitor how it ended.
    func waitUntilDrained(timeout: Duration) {
        let deadline = Date(timeIntervalSinceNow: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        drainedCondition.lock()
        while !drained && drainedCondition.wait(until: deadline) {}
        drainedCondition.unlock()
    }

    // MARK: the link's thread

    private func run() {
        var finishing: UInt64?  // when the pool finished: the last events get a little while to go out
        while true {
            if listener >= 0 { acceptClients() }
            for client in clients { pump(client) }
            clients.removeAll { client in
                let done = client.broken || (client.subscriptionEnded && client.pendingBytes == 0)
                if done { close(client.fd) }
                return done
            }
            let poolFinished = shared.state.withLock { $0.finished }
            if poolFinished {
                let now = MonotonicClock.nanoseconds()
                if finishing == nil { finishing = now }
                if clients.isEmpty || now &- finishing! > 2_000_000_000 { break }
            } else if case .connect = mode, clients.isEmpty {
                break  // the monitor went away: the pool carries on unwatched
            }
            waitForActivity(busy: !clients.isEmpty)
        }
        for client in clients { close(client.fd) }
        clients = []
        if listener >= 0 { close(listener) }
        if let socketPath { unlink(socketPath) }
        drainedCondition.lock()
        drained = true
        drainedCondition.broadcast()
        drainedCondition.unlock()
    }

    /// Sleeps until a socket needs attention, or briefly (while monitors are connected, events
    /// are picked up every 20 ms: a batch per wake-up rather than a wake-up per event).
    private func waitForActivity(busy: Bool) {
        var fds: [pollfd] = []
        if listener >= 0 { fds.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0)) }
        for client in clients {
            var events = Int16(POLLIN)
            if client.pendingBytes > 0 { events |= Int16(POLLOUT) }
            fds.append(pollfd(fd: client.fd, events: events, revents: 0))
        }
        _ = poll(&fds, nfds_t(fds.count), busy ? 20 : 250)
    }

    private func acceptClients() {
        while true {
            let fd = cshim_unix_accept(listener)
            guard fd >= 0 else { return }
            var uid: uid_t = 0
            var pid: pid_t = 0
            guard cshim_peer_credentials(fd, &uid, &pid) == 0, MonitorChannel.peerAllowed(uid: uid) else {
                let line = ChannelMessage.refused("only user \(geteuid()) or root may watch this pool (you are uid \(uid))").line + "\n"
                _ = line.withCString { cshim_send_nosignal(fd, $0, strlen($0)) }
                close(fd)
                continue
            }
            if let client = makeClient(fd: fd) { clients.append(client) } else { close(fd) }
        }
    }

    /// A new connection: its hello, then (once the IO thread activates its subscription) the
    /// snapshot and every event after it.
    private func makeClient(fd: Int32) -> Client? {
        guard let subscription = shared.events.subscribeDirect(bufferingLimit: Self.subscriptionLimit) else { return nil }
        let client = Client(fd: fd, subscription: subscription)
        let (workers, jobs) = shared.state.withLock { ($0.targetWorkers, $0.runningJobs) }
        client.append(ChannelMessage.hello(ChannelHello(pid: getpid(), pool: shared.poolID, program: Self.commandLine,
                                                         workers: workers, jobsRunning: jobs)).line)
        try? shared.send(.activateSubscriber(subscription.subscription.id), always: true)
        return client
    }

    /// Moves events into the client's buffer (as far as its bound allows), writes what the socket
    /// takes, and answers the commands it sent.
    private func pump(_ client: Client) {
        if !client.subscriptionEnded && client.pendingBytes < Self.outputLimit {
            let (events, finished) = client.subscription.subscription.takeAll()
            for event in events {
                event.appendJSONLine(to: &client.output)
                client.output.append(UInt8(ascii: "\n"))
            }
            if finished { client.subscriptionEnded = true }
        }
        readCommands(client)
        writeOutput(client)
    }

    private func writeOutput(_ client: Client) {
        while client.pendingBytes > 0 {
            let sent = client.output.withUnsafeBytes { bytes in
                cshim_send_nosignal(client.fd, bytes.baseAddress! + client.written, client.pendingBytes)
            }
            if sent > 0 {
                client.written += sent
            } else if sent < 0 && errno == EINTR {
                continue
            } else {
                if sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK { client.broken = true }
                break
            }
        }
        if client.written == client.output.count {
            client.output.removeAll(keepingCapacity: client.output.capacity <= Self.outputLimit * 2)
            client.written = 0
        } else if client.written > Self.outputLimit {
            client.output.removeFirst(client.written)
            client.written = 0
        }
    }

    private func readCommands(_ client: Client) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(client.fd, &buffer, buffer.count)
            if count > 0 {
                client.input.append(contentsOf: buffer[0..<count])
                if client.input.count > Self.inputLimit && !client.input.contains(UInt8(ascii: "\n")) {
                    client.broken = true
                    return
                }
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                // EOF: the monitor left (`q` in attach); EAGAIN: nothing more for now.
                if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { client.broken = true }
                break
            }
        }
        while let newline = client.input.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: client.input[..<newline], as: UTF8.self)
            client.input.removeFirst(newline + 1)
            guard !line.isEmpty else { continue }
            let reply: ChannelReply
            do {
                let command = try ChannelCommand(line: line)
                reply = carryOut(command)
            } catch {
                reply = ChannelReply(id: -1, accepted: false, message: "\(error)")
            }
            client.append(ChannelMessage.reply(reply).line)
        }
    }

    /// Does what a monitor asked, through the same paths as the pool's own API.
    private func carryOut(_ command: ChannelCommand) -> ChannelReply {
        commandsHandled += 1
        switch command.action {
        case .resize(let workers):
            guard (1...1024).contains(workers) else {
                return ChannelReply(id: command.id, accepted: false, message: "workers must be between 1 and 1024 (got \(workers))")
            }
            do {
                try shared.send(.resize(workers))
                shared.state.withLock { $0.targetWorkers = workers }
                return ChannelReply(id: command.id, accepted: true, message: "workers → \(workers)")
            } catch {
                return ChannelReply(id: command.id, accepted: false, message: "\(error)")
            }
        case .signal(let pid, let signal):
            // Through the pool: only a current worker (never a stale PID), and a death the
            // monitor asked for is not held against the item the worker was running.
            do {
                try shared.signalWorker(pid: pid, signal: signal)
                return ChannelReply(id: command.id, accepted: true, message: "\(signalName(signal)) → worker \(pid)")
            } catch {
                return ChannelReply(id: command.id, accepted: false, message: error.message)
            }
        case .chunksize(let size):
            if let size, size < 1 {
                return ChannelReply(id: command.id, accepted: false, message: "chunk size must be at least 1 (got \(size))")
            }
            shared.setChunksizeOverride(size)
            return ChannelReply(id: command.id, accepted: true,
                                message: "next jobs: chunk size \(size.map(String.init) ?? "their own")")
        }
    }

    /// This program's command line, as `ps` would show it.
    private static let commandLine: String = {
        guard let data = FileManager.default.contents(atPath: "/proc/self/cmdline"), !data.isEmpty else {
            return CommandLine.arguments.joined(separator: " ")
        }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }()
}
