/// A machine that ssh reaches, with how many workers it runs (`h1`, `h2:4`, `user@h3:2`).
public struct RemoteHost: Sendable, Equatable, CustomStringConvertible {
    /// What ssh is given as the destination: a host name, address, `user@host` or an alias from
    /// an ssh config.
    public var name: String
    /// Workers started on it (at least 1).
    public var workers: Int

    /// - Precondition: `name` passes ``validate(_:)`` and `workers >= 1` (checked again when a pool starts).
    public init(_ name: String, workers: Int = 1) {
        self.name = name
        self.workers = workers
    }

    /// Parses `host` or `host:count`; an IPv6 address goes in brackets (`[::1]:2`).
    /// - Throws: ``PoolError/Code/invalidArgument`` naming what is wrong.
    public init(parsing text: String) throws {
        var name = Substring(text)
        var workers = 1
        if name.hasPrefix("["), let close = name.firstIndex(of: "]") {
            let rest = name[name.index(after: close)...]
            let inner = name[name.index(after: name.startIndex)..<close]
            if rest.hasPrefix(":") {
                guard let count = Int(rest.dropFirst()) else {
                    throw PoolError(.invalidArgument, "host '\(text)': the worker count after ':' must be a number")
                }
                workers = count
            } else if !rest.isEmpty {
                throw PoolError(.invalidArgument, "host '\(text)': expected ':count' after ']'")
            }
            name = inner
        } else if let colon = name.lastIndex(of: ":"), name.firstIndex(of: ":") == colon {
            guard let count = Int(name[name.index(after: colon)...]) else {
                throw PoolError(.invalidArgument, "host '\(text)': the worker count after ':' must be a number")
            }
            workers = count
            name = name[..<colon]
        }
        self.init(String(name), workers: workers)
        try Self.validate(self)
    }

    /// Parses a comma-separated list (`h1,h2:4`).
    /// - Throws: ``PoolError/Code/invalidArgument`` for an empty list or a bad entry.
    public static func parseList(_ text: String) throws -> [RemoteHost] {
        let hosts = try text.split(separator: ",", omittingEmptySubsequences: false).map { try RemoteHost(parsing: String($0)) }
        guard !hosts.isEmpty else { throw PoolError(.invalidArgument, "no hosts given") }
        return hosts
    }

    /// Checks what would make ssh misread the destination: empty, a leading `-` (an option),
    /// whitespace or control characters, more than 255 bytes; and the worker count.
    /// - Throws: ``PoolError/Code/invalidArgument``.
    public static func validate(_ host: RemoteHost) throws {
        let name = host.name
        guard !name.isEmpty else { throw PoolError(.invalidArgument, "a host name is empty") }
        guard name.utf8.count <= 255 else { throw PoolError(.invalidArgument, "host name '\(name.prefix(40))…' is longer than 255 bytes") }
        guard !name.hasPrefix("-") else { throw PoolError(.invalidArgument, "host name '\(name)' starts with '-' (ssh would read an option)") }
        guard !name.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f }) else {
            throw PoolError(.invalidArgument, "host name '\(name)' contains a space or a control character")
        }
        guard (1...4096).contains(host.workers) else {
            throw PoolError(.invalidArgument, "host '\(name)': the worker count must be between 1 and 4096 (got \(host.workers))")
        }
    }

    public var description: String { workers == 1 ? name : "\(name):\(workers)" }
}
