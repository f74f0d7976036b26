import PoolTestSupport
import ProcessPool

// The worker executable of the engine tests: serves the test tasks. Run by a test as
// `PoolTestWorker scenario NAME`, it drives a pool of its own instead (see `Scenario`).
// Before `runIfRequested`, on purpose: `PoolTestWorker forgetful` is a program that forgot to
// call it first, started as a pool's worker (see `GuardRailTests`).
if CommandLine.arguments.count == 2 && CommandLine.arguments[1] == "forgetful" {
    Scenario.forgetful()
}
WorkerProcess.runIfRequested(TestTasks.registry)
if CommandLine.arguments.count == 3 && CommandLine.arguments[1] == "scenario" {
    Scenario.run(CommandLine.arguments[2])
}
print("PoolTestWorker is started by the engine tests as a pool worker; it does nothing on its own.")
