/// The engine's fixed settings, checked and resolved from ``ProcessPool/Configuration``.
struct PoolSettings: Sendable {
    var maxTasksPerChild: Int?
    var maxCrashRetries: Int
    var initializer: WorkerInitializer?
    /// Items shorter than this (moving average per worker) count as tiny: the worker then gets
    /// several chunks ahead. Longer items get one chunk at a time, so who-runs-what matches a
    /// shared queue exactly.
    var prefetchBelowNanoseconds: Double = 200_000
    var prefetchMaxChunks = 64
    var prefetchMaxItems = 8192
    /// Workers dying before they ever report ready, in a row, before the pool gives up.
    var maxStartFailures = 5
}
