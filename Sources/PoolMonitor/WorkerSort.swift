/// How the worker grid is ordered (`F6`, `<`, `>`), as htop sorts its process list. The task
/// stream follows the same order, so that a worker's row and its stream stay side by side.
public enum WorkerSort: String, Sendable, Equatable, CaseIterable {
    case slot, pid, cpu, rss, done, state, host

    /// The column name, as the grid's header marks it.
    public var label: String {
        switch self {
        case .slot: "slot"
        case .pid: "PID"
        case .host: "host"
        case .cpu: "CPU%"
        case .rss: "RSS"
        case .done: "done"
        case .state: "state"
        }
    }

    /// The next key (`>`, `F6`), wrapping around.
    public var next: WorkerSort {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }

    /// The previous key (`<`), wrapping around.
    public var previous: WorkerSort {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + all.count - 1) % all.count]
    }

    /// `workers` in this order: numbers biggest first (the busiest worker on top, as htop
    /// does), slot and PID ascending, ties by slot so that the order is stable.
    public func ordered(_ workers: [WorkerSlot], resources: ResourceTable) -> [WorkerSlot] {
        func key(_ worker: WorkerSlot) -> Double {
            switch self {
            case .slot, .host: Double(worker.slot)
            case .pid: Double(worker.pid)
            case .cpu: -(resources.usage(of: worker.pid)?.cpuPercent ?? -1)
            case .rss: -Double(resources.usage(of: worker.pid)?.residentBytes ?? -1)
            case .done: -Double(worker.itemsDone)
            case .state: Double(Self.rank(worker.activity))
            }
        }
        guard self != .slot else { return workers }
        if self == .host {
            // Workers on other machines grouped by host (local ones, without a host, first),
            // in slot order within a host.
            return workers.sorted { a, b in
                let (ha, hb) = (a.host ?? "", b.host ?? "")
                return ha != hb ? ha < hb : a.slot < b.slot
            }
        }
        return workers.sorted { a, b in
            let (ka, kb) = (key(a), key(b))
            return ka != kb ? ka < kb : a.slot < b.slot
        }
    }

    /// Busy first, then starting and idle, then those on their way out.
    private static func rank(_ activity: WorkerSlot.Activity) -> Int {
        switch activity {
        case .busy: 0
        case .starting: 1
        case .idle: 2
        case .retiring: 3
        case .exited: 4
        }
    }
}
