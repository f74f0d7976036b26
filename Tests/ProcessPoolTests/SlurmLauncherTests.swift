import Foundation
import Glibc
import PoolTestSupport
import ProcessPool
import TerminalTestSupport
import Testing

/// Workers started as Slurm job steps by `srun`, on a one-node cluster the test starts (munged,
/// slurmctld, slurmd in a temporary directory) and stops. One cluster serves every check: it
/// takes seconds to start, and the whole suite must stay small.
@Suite("srun launcher", .timeLimit(.minutes(4)), .serialized,
       .enabled(if: OneNodeSlurm.shouldRun, "skipped: \(OneNodeSlurm.unavailableReason ?? "") (under CI=true this fails instead)"))
struct SlurmLauncherTests {
    @Test("through srun: results in order and chunking, a killed worker replaced, terminate() stops all", .timeLimit(.minutes(4)))
    func conformance() async throws {
        let slurm = try OneNodeSlurm()
        defer { slurm.stop() }
        // srun finds the cluster through SLURM_CONF in the launcher's environment.
        let launcher = WorkerLauncher.srun(arguments: ["--cpus-per-task=1"])
        try await LauncherConformance.resultsInOrderAndChunking(launcher, environment: slurm.environment)
        try await LauncherConformance.killedWorkerIsReplaced(launcher, environment: slurm.environment)
        try await LauncherConformance.terminateStopsRemoteWorkers(launcher, environment: slurm.environment)
    }
}
