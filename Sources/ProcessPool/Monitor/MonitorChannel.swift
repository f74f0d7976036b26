import Foundation
import Glibc

/// The monitor channel: how a pool shows itself to `poolmon` (or any monitor) over a Unix socket.
///
/// A pool connects to a monitor that started its program (``socketEnvironmentKey`` names the
/// socket: `poolmon watch -- CMD` sets it), or listens for monitors that come later
/// (``ProcessPool/Configuration/attachable``, or ``attachEnvironmentKey`` set to `1`: `poolmon
/// attach`). Either way one connection carries one pool:
///
/// - the pool writes JSON lines: first a hello (``ChannelMessage/hello(_:)``), then its events in
///   the JSON Lines schema of ``PoolEvent/jsonLine`` (version 2), each a line as in an `--events`
///   log, starting with a snapshot of the pool as it is (workers, jobs and their progress), and
///   a reply to every command;
/// - the monitor writes commands (``ChannelCommand``), one JSON line each.
///
/// The pool never waits for a monitor: events go through a bounded queue, and what a slow or stuck
/// monitor cannot take is dropped, counted and announced (``PoolEvent/Kind/eventsDropped(count:)``).
///
/// **Security.** An attachable pool's socket lives in a directory only its user can enter
/// (`$XDG_RUNTIME_DIR/poolmon/`, else `/tmp/poolmon-<uid>/`, mode 0700, refused if it belongs to
/// someone else or others can enter it), the socket itself is mode 0600, and every connection's
/// peer is checked with `SO_PEERCRED`: only the same user, or root, may watch or control the pool.
public enum MonitorChannel {
    /// The environment variable naming a monitor's socket that every new pool connects to.
    public static let socketEnvironmentKey = "POOLMON_SOCKET"
    /// The environment variable that, set to `1`, makes every new pool attachable.
    public static let attachEnvironmentKey = "POOLMON_ATTACHABLE"
    /// The version of the channel's framing (hello, commands, replies).
    public static let protocolVersion = 1

    /// Where attachable pools put their sockets: `$XDG_RUNTIME_DIR/poolmon`, else `/tmp/poolmon-<uid>`.
    public static func attachDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            return runtime + "/poolmon"
        }
        return "/tmp/poolmon-\(geteuid())"
    }

    /// The socket of pool `pool` of process `pid` in ``attachDirectory(environment:)``.
    public static func socketName(pid: Int32, pool: Int) -> String { "\(pid)-\(pool).sock" }

    /// Makes `directory` if needed and checks that it is private: a real directory (not a
    /// symlink), owned by this user, that nobody else can enter.
    /// - Throws: ``PoolError/Code/invalidArgument`` saying what is wrong.
    public static func preparePrivateDirectory(_ directory: String) throws {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw PoolError(.invalidArgument, "cannot make '\(directory)': \(errnoDescription())")
        }
        var info = stat()
        guard lstat(directory, &info) == 0 else {
            throw PoolError(.invalidArgument, "cannot inspect '\(directory)': \(errnoDescription())")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw PoolError(.invalidArgument, "'\(directory)' is not a directory")
        }
        guard info.st_uid == geteuid() else {
            throw PoolError(.invalidArgument, "'\(directory)' belongs to another user (uid \(info.st_uid))")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw PoolError(.invalidArgument, "'\(directory)' can be entered by other users (mode \(String(info.st_mode & 0o777, radix: 8)))")
        }
    }

    /// Whether a peer with this uid may watch and control pools of this process: the same user, or root.
    static func peerAllowed(uid: uid_t) -> Bool { uid == geteuid() || uid == 0 }
}
