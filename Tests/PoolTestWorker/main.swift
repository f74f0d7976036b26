import PoolTestSupport
import ProcessPool

// The worker executable of the engine tests: serves the test tasks and nothing else.
WorkerProcess.runIfRequested(TestTasks.registry)
print("PoolTestWorker is started by the engine tests as a pool worker; it does nothing on its own.")
