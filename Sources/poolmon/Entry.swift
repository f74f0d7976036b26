import ProcessPool

/// The program's entry point: worker mode first, then the command line.
@main
enum Entry {
    static func main() async {
        // In a worker process this serves tasks and never returns; in the parent it returns at once.
        WorkerProcess.runIfRequested(DemoTasks.registry)
        // Before any other thread starts, so that every thread inherits the blocked mask and only
        // the signal thread receives SIGINT/SIGTERM/SIGHUP.
        SignalStop.start()
        await Poolmon.main()
    }
}
