import ProcessPool

// In a worker process this serves the benchmark's tasks and never returns.
WorkerProcess.runIfRequested(BenchTasks.registry)
await PoolBench.dispatch()
