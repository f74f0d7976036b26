import ArgumentParser
import CursesUI
import Foundation
import ProcessPool

/// Setting up and tearing down a monitor session: terminal check, signals, cleanup.
enum MonitorSession {
    /// Refuses to start without a terminal, pointing to the plain-output command.
    static func requireTerminal() throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw ValidationError("the monitor needs a terminal (standard input and output are not one); use `poolmon run` for plain output")
        }
    }

    static func run(source: any MonitorSource, inbox: MonitorInbox, settings: RunSettings, loopDelay: UInt64?) throws {
        let interrupter = TerminalInterrupter()
        // A signal: let the UI thread restore the terminal, then stop the run; the signal thread exits.
        let token = SignalStop.install {
            interrupter.interruptAndWait(timeout: .seconds(3))
            source.stop()
        }
        defer { token.cancel() }
        let loop = MonitorLoop(source: source, inbox: inbox, interrupter: interrupter, settings: settings, loopDelay: loopDelay)
        do {
            try loop.run()
        } catch let error as TerminalError {
            source.stop()
            throw ValidationError("\(error)")
        } catch {
            source.stop()
            throw error
        }
        source.stop()
        SignalStop.waitIfStopping()
    }
}
