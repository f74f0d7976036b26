import Glibc

/// Says in plain words why the system refused a descriptor, a process or memory, naming the
/// limit that was reached (`ulimit -n`, `ulimit -u`, `ulimit -v`) and its value.
enum ResourceShortage {
    // Linux's numbers for the limits (glibc's RLIMIT_NPROC is a macro Swift does not import).
    static let openFiles: Int32 = 7
    static let processes: Int32 = 6
    static let addressSpace: Int32 = 9

    /// `strerror(code)`, with the limit behind it for the codes that mean "a limit was reached".
    static func describe(_ code: Int32) -> String {
        switch code {
        case EMFILE:
            return "too many open files (EMFILE): this process may have at most \(limitText(openFiles)) open descriptors (ulimit -n)"
        case ENFILE:
            return "too many open files in the whole system (ENFILE)"
        case EAGAIN:
            return "no more processes or threads (EAGAIN): this user may run at most \(limitText(processes)) (ulimit -u)"
        case ENOMEM:
            let limit = currentLimit(addressSpace)
            let detail = limit.map { ": this process may use at most \($0 / 1024) KiB of address space (ulimit -v)" } ?? ""
            return "not enough memory (ENOMEM)\(detail)"
        default:
            return String(cString: strerror(code))
        }
    }

    /// The soft limit, or `nil` when unlimited.
    static func currentLimit(_ resource: Int32) -> UInt64? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(resource), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return UInt64(limit.rlim_cur)
    }

    private static func limitText(_ resource: Int32) -> String {
        currentLimit(resource).map { "\($0)" } ?? "unlimited"
    }
}
