import ProcessPool
// Placeholder: the benchmark command (issue 4) lives here.
WorkerProcess.runIfRequested(TaskRegistry())
print("poolmon-bench: not yet")
