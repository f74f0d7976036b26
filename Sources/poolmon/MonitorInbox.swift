import ProcessPool
import Synchronization

/// What the monitor's UI thread is told by the run that feeds it.
enum MonitorMessage: Sendable {
    /// Run `run` began; its event time 0 is `origin` on ``EventClock``, and event time passes
    /// `timeScale` times as fast as real time (a replay's `--speed`).
    case runStarted(run: Int, origin: UInt64, timeScale: Double)
    /// A replay changed speed: the run's clock is `origin` and `timeScale` from now on.
    case clockChanged(run: Int, origin: UInt64, timeScale: Double)
    /// Events in the order the pool emitted them (a batch per turn of its IO loop).
    case events(run: Int, [PoolEvent])
    /// The run finished; these lines (the tutorial's totals) go on screen.
    case runFinished(run: Int, summary: [String])
    case runFailed(run: Int, message: String)
    /// Lines for the results box while the run goes on (a followed log says so).
    case summary(run: Int, [String])
    /// The session cannot go on (the event log cannot be written, a followed log went bad): the
    /// loop ends, the terminal is restored, and the session throws `error`.
    case sessionFailed(any Error)
    /// A pool of a watched program connected (each pool is a run of its own; `Tab` switches).
    case poolConnected(run: Int, ChannelHello)
    /// Its connection closed (the pool finished, or the program ended), with why if it broke.
    case poolDisconnected(run: Int, reason: String?)
    /// A pool answered a command the keys sent.
    case commandAnswered(run: Int, what: String, ChannelReply)
    /// A line the watched program wrote (standard output or error).
    case programOutput(pid: Int32, line: String)
    /// The watched program ended: `exit 0`, `SIGKILL`…
    case programExited(status: String)
}

/// Messages from the run (any thread) to the UI thread, which drains them every frame. Events
/// are only appended here; folding them into the state is the UI thread's job, O(1) each.
final class MonitorInbox: Sendable {
    private let messages = Mutex<[MonitorMessage]>([])

    func post(_ message: MonitorMessage) {
        messages.withLock { $0.append(message) }
    }

    /// Takes what was posted, up to about `eventBudget` events: a backlog (a log replayed fast,
    /// a flood from a busy pool) is folded a slice per turn of the UI loop, so that keys are read
    /// and frames drawn in between, whatever is waiting.
    func drain(eventBudget: Int = 100_000) -> [MonitorMessage] {
        messages.withLock { pending in
            var taken: [MonitorMessage] = []
            var events = 0
            var consumed = 0
            while consumed < pending.count && events < eventBudget {
                if case .events(let run, let batch) = pending[consumed], events + batch.count > eventBudget {
                    let room = eventBudget - events
                    taken.append(.events(run: run, Array(batch.prefix(room))))
                    pending[consumed] = .events(run: run, Array(batch.dropFirst(room)))
                    events = eventBudget
                    break
                }
                if case .events(_, let batch) = pending[consumed] { events += batch.count }
                taken.append(pending[consumed])
                consumed += 1
            }
            if consumed == pending.count {
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.removeFirst(consumed)
            }
            return taken
        }
    }
}
