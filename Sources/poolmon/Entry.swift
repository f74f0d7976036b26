import ProcessPool

/// The program's entry point: worker mode first, then the command line.
@main
enum Entry {
    static func main() async {
        // In a worker process this serves tasks and never returns; in the parent it returns at once.
        WorkerProcess.runIfRequested(DemoTasks.registry)
        // SIGINT/SIGTERM/SIGHUP become an orderly stop (workers reaped, exit 128 + signal).
        SignalStop.start()
        await Poolmon.main()
    }
}
