import CSystemShims
import Foundation
import Glibc
import ProcessPool
import Synchronization

/// The monitor's end of the monitor channel: pools of other programs, one connection each.
///
/// A thread of its own sleeps in `poll` on every connection (and, for `watch -- CMD`, on the
/// socket the program's pools connect to), reads their JSON lines and posts them to the inbox:
/// each connection is a "run" of the monitor (its own screen; `Tab` switches). Commands go back
/// on the same connection. A peer that is not this user (or root) is refused (`SO_PEERCRED`);
/// a line that cannot be read ends that connection with a message, never the monitor.
final class PoolConnections: Sendable {
    private struct Connection {
        let fd: Int32
        let run: Int
        var input: [UInt8] = []
        var greeted = false
    }

    private struct State {
        var connections: [Connection] = []
        var nextRun = 1
        var nextCommand = 1
        var stopped = false
        /// Command ids waiting for their reply, with what they asked (for the message).
        var asked: [Int: String] = [:]
    }

    /// A line longer than this is not a line: the connection is dropped.
    private static let lineLimit = 16 << 20

    private let inbox: MonitorInbox
    private let listener: Int32
    private let state = Mutex(State())
    private let wakeFD: Int32
    private let eventLog: EventLogWriter?

    /// - Parameters:
    ///   - listener: a listening socket to accept pools from (`watch -- CMD`), or -1.
    ///   - eventLog: where every pool's events are recorded too (`--events`), if anywhere.
    /// A listening socket in the private attach directory for a program's pools to connect to
    /// (`watch -- CMD`, `run -- CMD`), named `NAME-PID.sock`.
    /// - Throws: ``ValidationErrorMessage`` when the directory or the socket cannot be made.
    static func listen(named name: String) throws -> (path: String, fd: Int32) {
        let directory = MonitorChannel.attachDirectory()
        do {
            try MonitorChannel.preparePrivateDirectory(directory)
        } catch {
            throw ValidationErrorMessage("cannot make the monitor's socket: \(error)")
        }
        let path = directory + "/\(name)-\(getpid()).sock"
        unlink(path)
        let fd = cshim_unix_listen(path, 16)
        guard fd >= 0 else {
            throw ValidationErrorMessage("cannot listen at '\(path)': \(String(cString: strerror(errno)))")
        }
        return (path, fd)
    }

    init(inbox: MonitorInbox, listener: Int32, eventLog: EventLogWriter? = nil) {
        self.inbox = inbox
        self.listener = listener
        self.eventLog = eventLog
        wakeFD = cshim_eventfd()
    }

    /// Starts the reading thread.
    func start() {
        let thread = Thread { self.run() }
        thread.name = "pool connections"
        thread.start()
    }

    /// Connects to an attachable pool's socket.
    /// - Throws: a message saying why not.
    func connect(path: String) throws {
        let fd = cshim_unix_connect(path)
        guard fd >= 0 else { throw ValidationErrorMessage("cannot connect to '\(path)': \(String(cString: strerror(errno)))") }
        add(fd)
    }

    /// Pools connected now.
    var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Whether ``stop()`` was called.
    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Stops reading and closes every connection (detaching leaves the pools running).
    func stop() {
        let fds = state.withLock { state -> [Int32] in
            state.stopped = true
            defer { state.connections = [] }
            return state.connections.map(\.fd)
        }
        for fd in fds { close(fd) }
        wake()
    }

    /// Sends a command to the pool shown as `run`.
    /// - Returns: false when that pool is no longer connected.
    @discardableResult
    func send(_ action: ChannelCommand.Action, toRun run: Int, describing what: String) -> Bool {
        let (fd, id) = state.withLock { state -> (Int32?, Int) in
            let id = state.nextCommand
            state.nextCommand += 1
            state.asked[id] = what
            return (state.connections.first { $0.run == run }?.fd, id)
        }
        guard let fd else { return false }
        let line = ChannelCommand(id: id, action).line + "\n"
        // Commands are a few dozen bytes: the socket's buffer takes them whole or not at all.
        let sent = line.withCString { cshim_send_nosignal(fd, $0, strlen($0)) }
        return sent > 0
    }

    private func add(_ fd: Int32) {
        state.withLock { state in
            state.connections.append(Connection(fd: fd, run: state.nextRun))
            state.nextRun += 1
        }
        wake()
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // MARK: the thread

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let connections = state.withLock { $0.stopped ? nil : $0.connections }
            guard let connections else { return }
            var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            if listener >= 0 { fds.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0)) }
            for connection in connections { fds.append(pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), 1000)
            guard ready > 0 else { continue }
            if fds[0].revents != 0 {
                var drained: UInt64 = 0
                _ = read(wakeFD, &drained, 8)
            }
            if listener >= 0 && fds[1].revents != 0 { acceptPools() }
            let offset = listener >= 0 ? 2 : 1
            for (position, connection) in connections.enumerated() where fds[offset + position].revents != 0 {
                let count = read(connection.fd, &buffer, buffer.count)
                if count > 0 {
                    receive(buffer[0..<count], from: connection.fd)
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    drop(connection.fd, reason: nil)
                }
            }
        }
    }

    private func acceptPools() {
        while true {
            let fd = cshim_unix_accept(listener)
            guard fd >= 0 else { return }
            var uid: uid_t = 0
            var pid: pid_t = 0
            guard cshim_peer_credentials(fd, &uid, &pid) == 0, uid == geteuid() || uid == 0 else {
                close(fd)
                continue
            }
            add(fd)
        }
    }

    /// Splits what arrived into lines and posts what they say, in order (events of one read go
    /// as one batch between the other messages).
    private func receive(_ bytes: ArraySlice<UInt8>, from fd: Int32) {
        var messages: [MonitorMessage] = []
        var batch: [PoolEvent] = []
        var failure: String?
        state.withLock { state in
            guard let position = state.connections.firstIndex(where: { $0.fd == fd }) else { return }
            let run = state.connections[position].run
            func post(_ message: MonitorMessage) {
                if !batch.isEmpty { messages.append(.events(run: run, batch)); batch = [] }
                messages.append(message)
            }
            var input = state.connections[position].input
            input.append(contentsOf: bytes)
            // No newline in what arrived: no line is complete, and a long line must not be
            // scanned again on every read (it is only held, up to the limit).
            guard bytes.contains(UInt8(ascii: "\n")) else {
                if input.count > Self.lineLimit { failure = "a line longer than \(Self.lineLimit) bytes" }
                state.connections[position].input = input
                return
            }
            var consumed = 0
            while failure == nil, let newline = input[consumed...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = input[consumed..<newline]
                consumed = newline + 1
                guard !line.isEmpty else { continue }
                do {
                    // From the bytes: the busiest events are read without a String made of them.
                    switch try line.withUnsafeBufferPointer({ try ChannelMessage(lineUTF8: $0) }) {
                    case .hello(let hello):
                        state.connections[position].greeted = true
                        post(.poolConnected(run: run, hello))
                    case .event(let event):
                        guard state.connections[position].greeted else {
                            failure = "the peer did not say hello"
                            break
                        }
                        if case .poolCreated = event.kind {
                            // Event time 0 is the pool's creation, in the other process: put it
                            // where it falls on our clock.
                            let now = EventClock.now()
                            post(.runStarted(run: run, origin: now &- min(event.time, now), timeScale: 1))
                        }
                        batch.append(event)
                    case .reply(let reply):
                        post(.commandAnswered(run: run, what: state.asked.removeValue(forKey: reply.id) ?? "command", reply))
                    case .refused(let why):
                        failure = "refused: \(why)"
                    }
                } catch {
                    failure = "bad line from the pool: \(error)"
                }
            }
            input.removeFirst(consumed)
            if input.count > Self.lineLimit { failure = "a line longer than \(Self.lineLimit) bytes" }
            state.connections[position].input = input
            if !batch.isEmpty { messages.append(.events(run: run, batch)) }
        }
        for message in messages {
            if case .events(_, let events) = message { eventLog?.append(events) }
            inbox.post(message)
        }
        if let failure { drop(fd, reason: failure) }
    }

    private func drop(_ fd: Int32, reason: String?) {
        let run = state.withLock { state -> Int? in
            guard let position = state.connections.firstIndex(where: { $0.fd == fd }) else { return nil }
            return state.connections.remove(at: position).run
        }
        close(fd)
        if let run { inbox.post(.poolDisconnected(run: run, reason: reason)) }
    }
}

/// A message for the user as it is, without ArgumentParser's decoration.
struct ValidationErrorMessage: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
