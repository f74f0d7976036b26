import Foundation
import Glibc
import ProcessPool
import Synchronization

/// `poolmon attach PID`: the attachable pools of a running program, watched and controlled
/// without it knowing in advance; `q` detaches and leaves it running.
///
/// Pools the program creates later are picked up too: the attach directory is looked at again
/// twice a second for new sockets of that process.
final class AttachSource: MonitorSource {
    let isLive = true
    let pid: Int32
    let command: String
    private let connections: PoolConnections
    private let connected = Mutex<Set<String>>([])
    private let stopped = Atomic<Bool>(false)

    init(pid: Int32, command: String, inbox: MonitorInbox) {
        self.pid = pid
        self.command = command
        connections = PoolConnections(inbox: inbox, listener: -1)
    }

    var watchedProgram: WatchedProgramInfo? { WatchedProgramInfo(command: command, attached: true) }

    func start(_: RunSettings) {
        guard connected.withLock({ $0.isEmpty }) else { return }
        connections.start()
        connectNewPools()
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                usleep(500_000)
                connectNewPools()
            }
        }
        thread.name = "attach rescan"
        thread.start()
    }

    private func connectNewPools() {
        for pool in AttachablePool.list() where pool.hello.pid == pid {
            let isNew = connected.withLock { $0.insert(pool.path).inserted }
            if isNew { try? connections.connect(path: pool.path) }
        }
    }

    func resize(workers: Int) {}
    func kill(pid: Int32) {}

    func send(_ action: ChannelCommand.Action, toRun run: Int, describing what: String) -> Bool {
        connections.send(action, toRun: run, describing: what)
    }

    /// Detaches: closes the connections; the program and its pools carry on.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        connections.stop()
    }
}
