/// The engine's fixed settings, checked and resolved from ``ProcessPool/Configuration``.
struct PoolSettings: Sendable {
    var maxTasksPerChild: Int?
    var maxCrashRetries: Int
    /// An item silent for longer than this is stopped (SIGTERM, then SIGKILL after the grace).
    var taskTimeout: UInt64? = nil
    var terminationGrace: UInt64 = 1_000_000_000
    var initializer: WorkerInitializer?
    /// Items shorter than this (moving average per worker, over the items of the job it last
    /// reported on) count as tiny: the worker then gets several chunks of that job ahead.
    /// Longer items get one chunk at a time, so who-runs-what matches a shared queue exactly.
    var prefetchBelowNanoseconds: Double = 200_000
    /// How much work (at the worker's average item duration) may wait in a worker beyond the
    /// chunk it runs: enough that it never waits for the parent, little enough that the last
    /// chunks of a job are not stuck behind one worker while another is idle.
    var prefetchBudgetNanoseconds: Double = 1_000_000
    /// With tiny items, a pipe round trip per few chunks is what limits throughput: up to this
    /// many chunks in flight per worker (measured with `poolmon-bench`: 64 → 1024 took
    /// `map_chunk1` from 1.1 to 2 million tasks/s).
    var prefetchMaxChunks = 1024
    var prefetchMaxItems = 8192
    /// Workers dying before they ever report ready, in a row, before the pool gives up.
    var maxStartFailures = 5
    /// A worker that has not said ready this long after its spawn is killed, and counts as a
    /// failure to start (a program that never reaches `runIfRequested` and does not exit).
    var startupTimeout: UInt64? = nil
}
