import Foundation
import Glibc
import TerminalTestSupport
import Testing

/// The monitor under the faults of "Faults II": every terminating signal restores the terminal,
/// and key bursts are counted press by press. Part of the serialized tmux suite.
extension MonitorTmuxTests {
    /// The PIDs of `parent`'s children, from /proc.
    func children(of parent: Int32) -> Set<Int32> {
        var result = Set<Int32>()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let ppid = self.parent(of: pid), ppid == parent else { continue }
            result.insert(pid)
        }
        return result
    }

    /// Like `waitForTwoBusyWorkers`, with room for a machine loaded by the rest of the suite.
    func waitForTwoBusyWorkersPatiently(_ session: TmuxSession) async throws -> String {
        try await session.waitUntil("two busy workers", timeout: .seconds(90)) { screen in
            workerRows(screen).filter { $0.state == "busy" }.count == 2
        }
    }

    /// tmux's view of the pane: the alternate screen off and the cursor visible again.
    func expectScreenRestored(_ session: TmuxSession) throws {
        let flags = try session.run(["display-message", "-p", "-t", TmuxSession.target, "#{alternate_on} #{cursor_flag}"])
        #expect(flags.trimmingCharacters(in: .whitespacesAndNewlines) == "0 1", "alternate screen off, cursor shown")
    }

    @Test("every signal that would end the monitor restores the terminal, reaps the workers and exits 128 + signal",
          arguments: ["C-\\", "QUIT", "USR1", "USR2", "ALRM", "VTALRM", "PROF", "XCPU", "XFSZ", "PWR", "RTMIN"])
    func terminatingSignals(how: String) async throws {
        let scratch = try scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            try launch(session, "--workers 2 --delay 1 --count 40", scratch: scratch)
            let screen = try await waitForTwoBusyWorkersPatiently(session)
            let workers = livePIDs(screen)
            let monitorPID = try #require(workers.first.flatMap { parent(of: $0) })
            let number: Int32
            switch how {
            case "C-\\":
                try session.press("C-\\")
                number = SIGQUIT
            case "RTMIN":
                number = __libc_current_sigrtmin()
                #expect(kill(monitorPID, number) == 0)
            default:
                let names: [String: Int32] = ["QUIT": SIGQUIT, "USR1": SIGUSR1, "USR2": SIGUSR2, "ALRM": SIGALRM,
                                              "VTALRM": SIGVTALRM, "PROF": SIGPROF, "XCPU": SIGXCPU, "XFSZ": SIGXFSZ, "PWR": SIGPWR]
                number = try #require(names[how])
                #expect(kill(monitorPID, number) == 0)
            }
            try await session.waitFor("EXIT=\(128 + number)", timeout: .seconds(60))
            try await expectTerminalRestored(session, scratch: scratch)
            try expectScreenRestored(session)
            for pid in workers { #expect(kill(pid, 0) != 0 || parent(of: pid) != monitorPID, "worker \(pid) was reaped") }
        }
    }

    @Test("ten + pressed in one burst add ten workers: the header says 12 and 12 worker processes run")
    func burstOfPlus() async throws {
        let scratch = try scratchDirectory()
        try await TmuxSession.withSession(width: 100, height: 50) { session in
            try launch(session, "--workers 2 --delay 1 --count 400", scratch: scratch)
            let screen = try await waitForTwoBusyWorkersPatiently(session)
            let monitorPID = try #require(livePIDs(screen).first.flatMap { parent(of: $0) })
            // One send-keys: the ten presses reach the terminal back to back.
            try session.run(["send-keys", "-t", TmuxSession.target] + Array(repeating: "+", count: 10))
            let grown = try await session.waitUntil("the header to say 12 workers and 12 live rows", timeout: .seconds(60)) { screen in
                screen.contains("workers 12 ") && livePIDs(screen).count == 12
            }
            #expect(!grown.contains("workers 13"))
            #expect(children(of: monitorPID).count == 12, "12 worker processes")
            try await expectQuitCleanly(session, scratch: scratch)
        }
    }
}
