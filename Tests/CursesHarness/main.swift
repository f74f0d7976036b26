// CursesHarness: a small program on top of CursesUI for the terminal tests in tmux.
//
// Shows `harness WxH`, the last key received, a box, a row of block characters and a styled
// sample; redraws on resize and on every key. Keys: `q` quits (exit 0), Ctrl-L repaints the
// screen, `!` crashes (a Swift trap, to test the crash-signal restore), `e` throws out of the
// session (exit 3). SIGINT/SIGTERM/SIGHUP are blocked and taken by a `sigwait` thread that
// interrupts the session, as the real app does; the harness then exits 128 + signal.
// Without a terminal it prints `harness: not a terminal` and exits 1.
//
// Environment, for the tests: HARNESS_IGNORE_HUP=1 ignores SIGHUP instead of taking it, so only
// the terminal's hang-up itself can end the session; HARNESS_REPORT=<file> receives how the
// session ended (`quit`, `interrupted <signal>`, `disconnected`).

import CursesUI
import Foundation
import Glibc
import PoolMonitor
import Synchronization

struct HarnessError: Error, CustomStringConvertible {
    var description: String { "error thrown from the session" }
}

/// The last stop signal the `sigwait` thread received (0: none).
let receivedSignal = Atomic<Int32>(0)

/// Blocks the stop signals in every thread (call before starting threads) and starts the thread
/// that turns them into an interruption of the session.
func startSignalThread(interrupter: TerminalInterrupter, ignoreHangUp: Bool) {
    var set = sigset_t()
    sigemptyset(&set)
    if ignoreHangUp { signal(SIGHUP, SIG_IGN) }
    for signal in ignoreHangUp ? [SIGINT, SIGTERM] : [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, signal) }
    pthread_sigmask(SIG_BLOCK, &set, nil)
    let blocked = set
    let thread = Thread {
        var waitSet = blocked
        var signal: Int32 = 0
        while sigwait(&waitSet, &signal) != 0 {}
        receivedSignal.store(signal, ordering: .releasing)
        interrupter.interrupt()
    }
    thread.name = "signals"
    thread.start()
}

/// What the harness shows.
func render(width: Int, height: Int, lastKey: String, frame: Int, terminal: CursesTerminal) -> Canvas {
    var canvas = Canvas(width: width, height: height)
    canvas.put("harness \(width)x\(height)", x: 0, y: 0, style: CellStyle(bold: true))
    canvas.put("last key: \(lastKey)", x: 0, y: 1)
    canvas.put("frame \(frame)  colors \(terminal.colorsEnabled ? "on" : "off")  unicode \(terminal.unicodeEnabled ? "on" : "off")  pid \(getpid())", x: 0, y: 2)

    // A box with a divider: ┌─┐ │ ├─┤ └─┘
    let boxTop = 3, boxWidth = 22
    let horizontal = String(repeating: "─", count: boxWidth - 2)
    canvas.put("┌" + horizontal + "┐", x: 0, y: boxTop)
    canvas.put("│", x: 0, y: boxTop + 1)
    canvas.put(" box", x: 1, y: boxTop + 1)
    canvas.put("│", x: boxWidth - 1, y: boxTop + 1)
    canvas.put("├" + horizontal + "┤", x: 0, y: boxTop + 2)
    canvas.put("│", x: 0, y: boxTop + 3)
    canvas.put(" · … ·", x: 1, y: boxTop + 3)
    canvas.put("│", x: boxWidth - 1, y: boxTop + 3)
    canvas.put("└" + horizontal + "┘", x: 0, y: boxTop + 4)

    canvas.put("blocks █▁▂▃▄▅▆▇", x: 0, y: boxTop + 5)
    var x = canvas.put("sample ", x: 0, y: boxTop + 6)
    x = canvas.put("red-bold", x: x, y: boxTop + 6, style: CellStyle(color: .red, bold: true))
    x = canvas.put(" ", x: x, y: boxTop + 6)
    x = canvas.put("reverse", x: x, y: boxTop + 6, style: CellStyle(reverse: true))
    x = canvas.put(" ", x: x, y: boxTop + 6)
    x = canvas.put("underline", x: x, y: boxTop + 6, style: CellStyle(underline: true))
    x = canvas.put(" ", x: x, y: boxTop + 6)
    canvas.put("green-dim", x: x, y: boxTop + 6, style: CellStyle(color: .green, dim: true))

    canvas.put("q quit  ctrl-l redraw  ! crash  e error", x: 0, y: height - 1, style: CellStyle(dim: true))
    return canvas
}

func runHarness() -> Int32 {
    let environment = ProcessInfo.processInfo.environment
    let interrupter = TerminalInterrupter()
    startSignalThread(interrupter: interrupter, ignoreHangUp: environment["HARNESS_IGNORE_HUP"] == "1")
    var ending = "error"
    defer {
        if let report = environment["HARNESS_REPORT"] {
            try? (ending + "\n").write(toFile: report, atomically: true, encoding: .utf8)
        }
    }
    do {
        return try CursesTerminal.withTerminal(interrupter: interrupter) { terminal -> Int32 in
            var lastKey = "none"
            var frame = 0
            func redraw() {
                frame += 1
                let (width, height) = terminal.size
                terminal.draw(render(width: width, height: height, lastKey: lastKey, frame: frame, terminal: terminal))
            }
            redraw()
            while !terminal.isInterrupted, !terminal.isDisconnected {
                // No timeout: only a key, a resize or the interrupter (Ctrl-C) ends the wait.
                guard let key = terminal.readKey(timeoutMilliseconds: -1) else { continue }
                lastKey = String(describing: key)
                switch key {
                case .character("q"):
                    ending = "quit"
                    return 0
                case .character("!"):
                    fatalError("harness: crash requested")
                case .character("e"):
                    throw HarnessError()
                case .control("l"):
                    terminal.forceRedraw()
                default:
                    break
                }
                redraw()
            }
            if terminal.isDisconnected {
                ending = "disconnected"
                return 1
            }
            let signal = receivedSignal.load(ordering: .acquiring)
            ending = "interrupted \(signal)"
            return 128 + signal
        }
    } catch TerminalError.notATerminal {
        FileHandle.standardError.write(Data("harness: not a terminal\n".utf8))
        return 1
    } catch {
        FileHandle.standardError.write(Data("harness: \(error)\n".utf8))
        return error is HarnessError ? 3 : 1
    }
}

exit(runHarness())
