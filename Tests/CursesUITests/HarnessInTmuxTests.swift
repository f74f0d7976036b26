import Foundation
import TerminalTestSupport
import Testing

/// The terminal layer end to end: `CursesHarness` (built on CursesUI) in a real tmux pane.
///
/// Every test polls the pane with a deadline rather than sleeping, and ends by checking how the
/// harness exited and that `stty -g` is the same as before it ran. Serialized: each test starts
/// a tmux server, a shell and the harness, which is plenty for a small loaded machine.
@Suite("CursesHarness in tmux", .serialized)
struct HarnessInTmuxTests {
    @Test("the screen appears with box and block characters, and q exits cleanly")
    func screenAndQuit() async throws {
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            let harness = try HarnessInPane(session: session)
            try await harness.start()
            let screen = try await session.waitFor("blocks █▁▂▃▄▅▆▇")
            #expect(screen.contains("last key: none"))
            #expect(screen.contains("┌────────────────────┐"))
            #expect(screen.contains("│ box                │"))
            #expect(screen.contains("├────────────────────┤"))
            #expect(screen.contains("│ · … ·              │"))
            #expect(screen.contains("└────────────────────┘"))
            #expect(screen.contains("colors on"))
            #expect(screen.contains("unicode on"))

            let outcome = try await harness.quit()
            #expect(outcome.status == 0)
            #expect(outcome.terminalSane, "stty -g differs after the harness:\n\(outcome.screen)")
            // endwin left the alternate screen: the harness's screen is gone.
            #expect(!outcome.screen.contains("harness 100x30"))
            #expect(!outcome.screen.contains("█"))
        }
    }

    @Test("keys reach the harness as KeyInput values")
    func keys() async throws {
        try await TmuxSession.withSession { session in
            let harness = try HarnessInPane(session: session)
            try await harness.start()
            try session.press("x")
            try await harness.waitForLastKey(#"character("x")"#)

            // tmux key name → the KeyInput the harness shows. Consecutive entries differ, so each
            // wait sees the new key, not the previous one.
            let keys: [(String, String)] = [
                ("Up", "up"), ("Down", "down"), ("Left", "left"), ("Right", "right"),
                ("Enter", "enter"), ("Escape", "escape"), ("BSpace", "backspace"), ("Tab", "tab"),
                ("F1", "function(1)"), ("F5", "function(5)"), ("F10", "function(10)"), ("F12", "function(12)"),
                ("C-a", #"control("a")"#), ("C-e", #"control("e")"#), ("Space", #"character(" ")"#),
                ("+", #"character("+")"#), ("PPage", "pageUp"), ("NPage", "pageDown"), ("Home", "home"), ("End", "end"),
                ("BTab", "backTab"),
            ]
            for (name, expected) in keys {
                try session.press(name)
                try await harness.waitForLastKey(expected)
            }
            try session.pressLiteral("é")
            try await harness.waitForLastKey(#"character("é")"#)

            // The mouse, as an xterm reports it (X10 encoding: ESC [ M, button+32, x+33, y+33):
            // a button-1 press at column 4, row 2, then a wheel turn up and one down.
            for (bytes, expected) in [(["1b", "5b", "4d", "20", "25", "23"], "press, x: 4, y: 2"),
                                      (["1b", "5b", "4d", "60", "26", "24"], "wheelUp, x: 5, y: 3"),
                                      (["1b", "5b", "4d", "61", "27", "25"], "wheelDown, x: 6, y: 4")] {
                _ = try session.run(["send-keys", "-t", TmuxSession.target, "-H"] + bytes)
                try await session.waitFor(expected)
            }

            let outcome = try await harness.quit()
            #expect(outcome.status == 0)
            #expect(outcome.terminalSane)
        }
    }

    @Test("a resize redraws at the new size, and back")
    func resize() async throws {
        try await TmuxSession.withSession(width: 100, height: 30) { session in
            let harness = try HarnessInPane(session: session)
            try await harness.start()
            try session.resize(width: 40, height: 10)
            let small = try await harness.waitForFrame("harness 40x10") { $0.contains("harness 40x10") }
            #expect(small.contains("last key: resize"))
            #expect(small.contains("┌"))
            try session.resize(width: 100, height: 30)
            let large = try await harness.waitForFrame("harness 100x30") { $0.contains("harness 100x30") }
            #expect(large.contains("blocks █▁▂▃▄▅▆▇"))
            #expect(!large.contains("harness 40x10"))

            let outcome = try await harness.quit()
            #expect(outcome.status == 0)
            #expect(outcome.terminalSane)
        }
    }

    @Test("Ctrl-L repaints the whole screen, wiping what others wrote over it")
    func ctrlLRepaints() async throws {
        try await TmuxSession.withSession { session in
            let harness = try HarnessInPane(session: session)
            try await harness.start()
            // Scribble on the terminal behind ncurses' back, as a stray write would.
            let tty = try session.paneTTY()
            let handle = try #require(FileHandle(forWritingAtPath: tty), "cannot open the pane's terminal \(tty)")
            handle.write(Data("\u{1B}[20;5HGARBAGE-XYZ".utf8))
            try handle.close()
            try await session.waitFor("GARBAGE-XYZ")

            try session.press("C-l")
            let screen = try await harness.waitForFrame("the last key Ctrl-L and no garbage") { screen in
                screen.contains(#"last key: control("l")"#) && !screen.contains("GARBAGE")
            }
            #expect(screen.contains("harness 100x30"))
            #expect(screen.contains("└────────────────────┘"))
            #expect(screen.contains("blocks █▁▂▃▄▅▆▇"))

            let outcome = try await harness.quit()
            #expect(outcome.status == 0)
            #expect(outcome.terminalSane)
        }
    }

    @Test("Ctrl-C is taken by a sigwait thread that interrupts the key wait; the terminal is restored")
    func interruptFromAnotherThread() async throws {
        try await TmuxSession.withSession { session in
            let harness = try HarnessInPane(session: session)
            try await harness.start()
            try session.press("C-c")
            let outcome = try await harness.waitForExit()
            #expect(outcome.status == 128 + 2)
            #expect(outcome.terminalSane, "stty -g differs after the harness:\n\(outcome.screen)")
            #expect(!outcome.screen.contains("harness 100x30"))
        }
    }

    @Test("a crash restores the terminal, shows the crash message, and still dies of the signal")
    func crashRestoresTerminal() async throws {
        try await TmuxSession.withSession { session in
            let harness = try HarnessInPane(session: session)
            try await harness.start()
            try session.press("!")
            let outcome = try await harness.waitForExit()
            // A Swift trap: SIGILL on x86_64, SIGTRAP on arm64 (128 + signal either way).
            #expect(outcome.status > 128, "expected death by signal, got \(outcome.status)")
            #expect(outcome.terminalSane, "stty -g differs after the crash:\n\(outcome.screen)")
            // The message Swift printed while the screen was in curses mode is shown afterwards.
            #expect(outcome.screen.contains("crash requested"), "the fatal error message was lost:\n\(outcome.screen)")
            #expect(!outcome.screen.contains("harness 100x30"))
        }
    }

    @Test("an error thrown out of the session restores the terminal")
    func errorThrownFromBody() async throws {
        try await TmuxSession.withSession { session in
            let harness = try HarnessInPane(session: session)
            try await harness.start()
            try session.press("e")
            let outcome = try await harness.waitForExit()
            #expect(outcome.status == 3)
            #expect(outcome.terminalSane)
            #expect(outcome.screen.contains("harness: error thrown from the session"))
        }
    }

    @Test("NO_COLOR turns colour off but keeps bold, reverse and underline")
    func noColor() async throws {
        try await TmuxSession.withSession { session in
            let harness = try HarnessInPane(session: session)
            try await harness.start()
            let colored = try await session.waitUntil("the styled sample", escapes: true) { $0.contains("green-dim") }
            #expect(colored.contains("colors on"))
            #expect(colored.contains("\u{1B}[31m"), "no red in:\n\(colored)")
            #expect(try await harness.quit().status == 0)

            try await harness.start(prefix: "NO_COLOR=1")
            let plain = try await session.waitUntil("the styled sample", escapes: true) { $0.contains("green-dim") }
            #expect(plain.contains("colors off"))
            #expect(!plain.contains("\u{1B}[31m"))
            #expect(!plain.contains("\u{1B}[32m"))
            #expect(plain.contains("\u{1B}[1m"), "bold missing in:\n\(plain)")
            #expect(plain.contains("\u{1B}[7m"), "reverse missing in:\n\(plain)")
            #expect(plain.contains("\u{1B}[4m"), "underline missing in:\n\(plain)")
            let outcome = try await harness.quit()
            #expect(outcome.status == 0)
            #expect(outcome.terminalSane)
        }
    }

    @Test("without a UTF-8 locale, box and block characters fall back to ASCII")
    func asciiFallback() async throws {
        try await TmuxSession.withSession { session in
            let harness = try HarnessInPane(session: session)
            try await harness.start(prefix: "LANG=C LC_ALL=C")
            // Wait for the last line drawn, not the first: a capture can land mid-frame.
            let screen = try await session.waitFor("blocks #.:-=+*%")
            #expect(screen.contains("unicode off"))
            #expect(screen.contains("+--------------------+"))
            #expect(screen.contains("| box                |"))
            #expect(screen.contains("blocks #.:-=+*%"))
            let outcome = try await harness.quit()
            #expect(outcome.status == 0)
            #expect(outcome.terminalSane)
        }
    }

    @Test("an unknown TERM is a clear error, not a crash")
    func unknownTerminalType() async throws {
        try await TmuxSession.withSession { session in
            let harness = try HarnessInPane(session: session)
            try await harness.start(prefix: "TERM=no-such-terminal", waitForScreen: false)
            let outcome = try await harness.waitForExit()
            #expect(outcome.status == 1)
            #expect(outcome.terminalSane)
            #expect(outcome.screen.contains("unsupported terminal type 'no-such-terminal'"))
        }
    }

    @Test("when the terminal goes away the key wait notices, and the harness ends")
    func terminalClosed() async throws {
        let report = NSTemporaryDirectory() + "/curses-harness-report-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { _ = unlink(report) }
        let pid = try await TmuxSession.withSession { session in
            let harness = try HarnessInPane(session: session)
            // SIGHUP ignored: only the hang-up of the terminal itself can end the key wait.
            try await harness.start(prefix: "HARNESS_IGNORE_HUP=1 HARNESS_REPORT='\(report)'")
            let screen = try await session.waitFor("harness 100x30")
            let pid = try #require(screen.firstMatch(of: /pid ([0-9]+)/).flatMap { Int32($0.1) })
            session.kill()
            return pid
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(20))
        while Self.isRunning(pid), clock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!Self.isRunning(pid), "the harness (pid \(pid)) is still running after its terminal closed")
        let ending = try? String(contentsOfFile: report, encoding: .utf8)
        #expect(ending == "disconnected\n")
    }

    /// Whether `pid` exists and is not a zombie.
    private static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.range(of: ") ", options: .backwards)
        else { return false }
        return stat[afterName.upperBound...].first != "Z"
    }
}
