import Foundation
import Testing
@testable import CursesUI

@Suite("TerminalInterrupter")
struct TerminalInterrupterTests {
    @Test("interrupt is sticky and visible from any thread")
    func sticky() async {
        let interrupter = TerminalInterrupter()
        #expect(!interrupter.isInterrupted)
        await Task.detached { interrupter.interrupt() }.value
        #expect(interrupter.isInterrupted)
        interrupter.interrupt()
        #expect(interrupter.isInterrupted)
    }

    @Test("interruptAndWait waits only while a session runs")
    func waitForEnd() async {
        let interrupter = TerminalInterrupter()
        #expect(interrupter.interruptAndWait(timeout: .milliseconds(20)))
        interrupter.setSessionRunning(true)
        #expect(!interrupter.interruptAndWait(timeout: .milliseconds(20)))
        // A real thread, not a task: `interruptAndWait` blocks this cooperative thread, and on a
        // loaded 2-core machine no other cooperative thread may be free to end the session.
        let ender = Thread {
            usleep(30_000)
            interrupter.setSessionRunning(false)
        }
        ender.start()
        #expect(interrupter.interruptAndWait(timeout: .seconds(20)))
    }

    @Test("errors say what is wrong")
    func errorText() {
        #expect(TerminalError.notATerminal.description.contains("not a terminal"))
        #expect(TerminalError.unsupportedTerminal(type: "dumb").description.contains("'dumb'"))
    }
}

@Suite("readKey time slices")
struct ReadKeySliceTests {
    @Test("remaining time rounds up to whole milliseconds")
    func roundingUp() {
        #expect(CursesTerminal.wholeMilliseconds(roundingUp: .zero) == 0)
        #expect(CursesTerminal.wholeMilliseconds(roundingUp: .milliseconds(-5)) == 0)
        #expect(CursesTerminal.wholeMilliseconds(roundingUp: .microseconds(400)) == 1)
        #expect(CursesTerminal.wholeMilliseconds(roundingUp: .milliseconds(50)) == 50)
        #expect(CursesTerminal.wholeMilliseconds(roundingUp: .seconds(2) + .microseconds(1)) == 2001)
    }
}
