/// Where the monitor's events come from: a live run of the tutorial, or a recorded log.
protocol MonitorSource: Sendable {
    /// Whether keys that change the run (workers, chunk size, mode, kill) apply.
    var isLive: Bool { get }
    /// Starts (or restarts) a run with these settings, posting to the inbox.
    func start(_ settings: RunSettings)
    /// Changes the live run's worker count.
    func resize(workers: Int)
    /// Sends SIGKILL to a worker of the live run; the kill is not charged to its item.
    func kill(pid: Int32)
    /// Stops the run; returns once its workers are reaped.
    func stop()
}
