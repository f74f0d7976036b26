import Foundation
import Glibc

/// Stops `poolmon run` as soon as nobody reads its standard output any more (`run | head -1`):
/// the workers print the task lines, so the parent would otherwise not notice until it writes
/// the totals at the very end.
///
/// When standard output is a pipe or a socket, a thread waits in `poll` for it to report an
/// error or hang-up (a pipe whose reader has gone does that at once), says so on standard
/// error, and stops poolmon as SIGPIPE would have, after the pool's workers are reaped:
/// exit status 141.
enum OutputWatch {
    static func start() {
        var status = stat()
        guard fstat(STDOUT_FILENO, &status) == 0 else { return }
        let kind = status.st_mode & S_IFMT
        guard kind == S_IFIFO || kind == S_IFSOCK else { return }
        let thread = Thread {
            var descriptor = pollfd(fd: STDOUT_FILENO, events: 0, revents: 0)
            while true {
                let ready = poll(&descriptor, 1, -1)
                if ready < 0 && errno == EINTR { continue }
                if ready < 0 { return }
                if descriptor.revents & Int16(POLLERR | POLLHUP) != 0 { break }
            }
            StandardStreams.complain("poolmon: standard output was closed (broken pipe); stopping")
            SignalStop.stop(as: SIGPIPE)
        }
        thread.name = "stdout watch"
        thread.start()
    }
}
