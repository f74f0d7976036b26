import Foundation
import Glibc

/// An `sshd` of a test's own on a loopback port, with a throwaway host key, user key and
/// configuration in a temporary directory, and the matching `ssh -F CONFIG` command line.
///
/// Found setting it up (DESIGN.md §12): sshd wants `/run/sshd` to exist; keys under a
/// world-writable `/tmp` need `StrictModes no`; `UsePAM no`; `sshd -D -f CONFIG`. ssh reads
/// `~/.ssh/config` from the passwd entry's home, not `$HOME`, so the test passes `-F` instead.
public final class LoopbackSSHD: @unchecked Sendable {
    // Safe: immutable after init; `daemon` is itself thread-safe.
    public static let sshdPath = "/usr/sbin/sshd"
    public static let sshPath = "/usr/bin/ssh"
    public static let keygenPath = "/usr/bin/ssh-keygen"

    /// Under CI (`CI=true`) missing daemons fail the tests loudly instead of skipping them.
    public static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Why these tests cannot run here, or `nil` when they can.
    public static let unavailableReason: String? = {
        for path in [sshdPath, sshPath, keygenPath] where access(path, X_OK) != 0 {
            return "\(path) is not installed (apt-get install openssh-server openssh-client)"
        }
        if access("/run/sshd", F_OK) != 0 && getuid() != 0 {
            return "sshd needs /run/sshd, which only root can create here"
        }
        return nil
    }()

    /// Whether the ssh tests run: the tools are here, or CI wants them to fail if they are not.
    public static var shouldRun: Bool { unavailableReason == nil || isCI }

    public let directory: String
    public let port: Int
    /// `ssh -F <config>`: what the launcher's `sshCommand` should be.
    public let sshCommand: [String]
    private let daemon: BackgroundDaemon

    /// Starts it and waits until a login works (or throws, with sshd's log).
    public init() throws {
        if let reason = Self.unavailableReason { throw ChildProcess.Failure(description: "cannot run sshd: \(reason)") }
        mkdir("/run/sshd", 0o755)
        directory = NSTemporaryDirectory() + "poolmon-sshd-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for key in ["host_key", "user_key"] {
            let made = try ChildProcess.run(Self.keygenPath, ["-q", "-t", "ed25519", "-N", "", "-f", "\(directory)/\(key)"])
            guard made.status == 0 else { throw ChildProcess.Failure(description: "ssh-keygen failed: \(made.standardError)") }
        }
        try FileManager.default.copyItem(atPath: "\(directory)/user_key.pub", toPath: "\(directory)/authorized_keys")
        port = try Self.freeLoopbackPort()
        let user = String(cString: getpwuid(getuid())!.pointee.pw_name)
        try """
        Port \(port)
        ListenAddress 127.0.0.1
        HostKey \(directory)/host_key
        AuthorizedKeysFile \(directory)/authorized_keys
        PidFile \(directory)/sshd.pid
        StrictModes no
        UsePAM no
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PubkeyAuthentication yes
        PermitRootLogin yes
        MaxStartups 100:30:200
        MaxSessions 100
        LogLevel ERROR

        """.write(toFile: "\(directory)/sshd_config", atomically: false, encoding: .utf8)
        try """
        Host *
          Port \(port)
          User \(user)
          IdentityFile \(directory)/user_key
          IdentitiesOnly yes
          StrictHostKeyChecking no
          UserKnownHostsFile /dev/null
          LogLevel ERROR

        """.write(toFile: "\(directory)/ssh_config", atomically: false, encoding: .utf8)
        sshCommand = [Self.sshPath, "-F", "\(directory)/ssh_config"]
        daemon = try BackgroundDaemon(Self.sshdPath, ["-D", "-e", "-f", "\(directory)/sshd_config"], logPath: "\(directory)/sshd.log")
        // Ready when a login runs a command (polled: a loaded machine starts it slowly).
        let deadline = Date().addingTimeInterval(30)
        var last = ""
        while Date() < deadline {
            guard daemon.isRunning else { throw ChildProcess.Failure(description: "sshd exited: \(daemon.log)") }
            let probe = try ChildProcess.run(Self.sshPath, ["-F", "\(directory)/ssh_config", "-o", "BatchMode=yes", "127.0.0.1", "true"],
                                             timeout: .seconds(20))
            if probe.status == 0 { return }
            last = probe.standardError
            usleep(50_000)
        }
        daemon.stop()
        throw ChildProcess.Failure(description: "no ssh login to 127.0.0.1:\(port) within 30 s: \(last) \(daemon.log)")
    }

    deinit { stop() }

    /// Stops sshd and removes the directory (sessions already open end with their commands).
    public func stop() {
        daemon.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A port nothing listens on now (the kernel's pick for a socket bound to port 0).
    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ChildProcess.Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw ChildProcess.Failure(description: "bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
