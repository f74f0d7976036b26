import CSystemShims
import Foundation
import Glibc
import ProcessPool

/// A pool that listens for monitors (see ``MonitorChannel``), as found in the attach directory.
struct AttachablePool: Sendable {
    var path: String
    var hello: ChannelHello

    /// The attachable pools of this user's processes, by PID and pool; sockets whose process is
    /// gone are removed on the way.
    static func list(directory: String = MonitorChannel.attachDirectory()) -> [AttachablePool] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var found: [AttachablePool] = []
        for name in names.sorted() where name.hasSuffix(".sock") && !name.hasPrefix("watch-") {
            let path = directory + "/" + name
            if let hello = greeting(at: path) {
                found.append(AttachablePool(path: path, hello: hello))
            } else if let pid = Int32(name.split(separator: "-").first ?? ""), pid > 0, Glibc.kill(pid, 0) != 0, errno == ESRCH {
                unlink(path)  // its process is gone (killed before it could clean up)
            }
        }
        return found.sorted { ($0.hello.pid, $0.hello.pool) < ($1.hello.pid, $1.hello.pool) }
    }

    /// Connects, reads the hello line (within a second), and hangs up.
    static func greeting(at path: String) -> ChannelHello? {
        let fd = cshim_unix_connect(path)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        let deadline = EventClock.now() + 1_000_000_000
        while line.count < 65_536 {
            let count = read(fd, &byte, 1)
            if count == 1 {
                if byte == UInt8(ascii: "\n") { break }
                line.append(byte)
            } else if count < 0 && (errno == EAGAIN || errno == EINTR) {
                guard EventClock.now() < deadline else { return nil }
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, 100)
            } else {
                return nil
            }
        }
        if case .hello(let hello)? = try? ChannelMessage(line: String(decoding: line, as: UTF8.self)) { return hello }
        return nil
    }
}
