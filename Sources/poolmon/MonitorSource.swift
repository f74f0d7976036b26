import Glibc
import ProcessPool

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
    /// Sends `signal` (from the signal menu) to a worker of the live run, through its pool.
    func signal(pid: Int32, _ signal: Int32)
    /// Stops the run; returns once its workers are reaped.
    func stop()
    /// Sends `signal` to every worker of the live run (SIGSTOP and SIGCONT for Ctrl-Z and `fg`:
    /// the workers are in process groups of their own, so the terminal's signals miss them).
    func signalWorkers(_ signal: Int32)
    /// Cuts the queued rest of a running job again (`]`/`[` mid-run); sources that cannot, ignore it.
    func rechunk(job: Int, chunksize: Int)
    /// The program whose pools this source connects (`watch -- CMD`, `attach`); nil for
    /// poolmon's own tutorial run and for logs.
    var watchedProgram: WatchedProgramInfo? { get }
    /// The playback speed of a recorded log (`replay`); nil for live sources and followed logs.
    var replaySpeed: Double? { get }
    /// Plays a recorded log at `speed` from now on; returns the speed set (nil: not a replay).
    func setSpeed(_ speed: Double) -> Double?
    /// Sends a command to the pool shown as `run` (sources of watched programs only).
    /// - Returns: false when it could not be sent (the pool is gone).
    func send(_ action: ChannelCommand.Action, toRun run: Int, describing what: String) -> Bool
}

/// A program watched through the monitor channel, as a source describes it.
struct WatchedProgramInfo: Sendable {
    /// Its command line (for `attach`, as its pool's hello said).
    var command: String
    /// `attach`: `q` detaches and leaves it running; otherwise `q` stops it.
    var attached: Bool
}

extension MonitorSource {
    var watchedProgram: WatchedProgramInfo? { nil }

    var replaySpeed: Double? { nil }

    func setSpeed(_ speed: Double) -> Double? { nil }

    func signalWorkers(_ signal: Int32) {}

    func rechunk(job: Int, chunksize: Int) {}

    func signal(pid: Int32, _ signal: Int32) {
        if signal == SIGKILL { kill(pid: pid) }
    }

    func send(_ action: ChannelCommand.Action, toRun run: Int, describing what: String) -> Bool { false }
}
