import ArgumentParser
import Foundation
import Glibc
import ProcessPool

/// `poolmon attach [PID]`: watch the pools of a program that is already running.
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Watch and control the pools of a running program (one that made its pools attachable).",
        discussion: """
        A program makes its pools attachable with `Configuration.attachable = true`, or when started \
        with POOLMON_ATTACHABLE=1. Without a PID, lists the attachable pools of your processes and \
        asks which to watch. `q` detaches and leaves the program running.
        """
    )

    @Argument(help: "The process whose pools to watch.")
    var pid: Int32?

    func run() throws {
        let pools = AttachablePool.list()
        let chosen: Int32
        if let pid {
            chosen = pid
        } else {
            guard !pools.isEmpty else {
                throw ValidationErrorMessage("no attachable pools in \(MonitorChannel.attachDirectory()): a program makes its pools attachable with Configuration.attachable = true or POOLMON_ATTACHABLE=1")
            }
            print(Self.table(pools))
            guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else { return }
            chosen = try Self.ask(pools)
        }
        guard let first = pools.first(where: { $0.hello.pid == chosen }) else {
            throw ValidationErrorMessage("process \(chosen) has no attachable pool (see `poolmon attach` for the list)")
        }
        try MonitorSession.requireTerminal()
        let inbox = MonitorInbox()
        let source = AttachSource(pid: chosen, command: first.hello.program, inbox: inbox)
        try MonitorSession.run(source: source, inbox: inbox, settings: RunSettings(workers: max(1, first.hello.workers)), loopDelay: nil)
    }

    /// `  #  PID     POOL  WORKERS  JOBS  COMMAND`, one row per pool.
    static func table(_ pools: [AttachablePool]) -> String {
        func pad(_ value: some CustomStringConvertible, _ width: Int, left: Bool = false) -> String {
            let text = value.description
            let fill = String(repeating: " ", count: max(0, width - text.count))
            return left ? text + fill : fill + text
        }
        var rows = ["  #  PID      POOL  WORKERS  JOBS  ENGINE   COMMAND"]
        for (number, pool) in pools.enumerated() {
            let hello = pool.hello
            rows.append([pad(number + 1, 3), pad(hello.pid, 7, left: true), pad(hello.pool, 4), pad(hello.workers, 7),
                         pad(hello.jobsRunning, 4), pad(hello.engine, 7, left: true), Self.shortened(hello.program)]
                .joined(separator: "  "))
        }
        return rows.joined(separator: "\n")
    }

    /// The command line with its program's directory left out, cut to 70 columns.
    static func shortened(_ command: String) -> String {
        let parts = command.split(separator: " ", maxSplits: 1)
        guard let program = parts.first else { return command }
        let name = program.split(separator: "/").last.map(String.init) ?? String(program)
        let text = parts.count > 1 ? name + " " + parts[1] : name
        return text.count > 70 ? String(text.prefix(69)) + "…" : text
    }

    /// Asks for a row number (or a PID); every pool of the chosen process is watched.
    static func ask(_ pools: [AttachablePool]) throws -> Int32 {
        while true {
            print("attach to which (1-\(pools.count), or q)? ", terminator: "")
            fflush(nil)
            guard let answer = readLine()?.trimmingCharacters(in: .whitespaces), answer != "q" else { throw ExitCode.success }
            if let number = Int(answer), (1...pools.count).contains(number) { return pools[number - 1].hello.pid }
            if let pid = Int32(answer), pools.contains(where: { $0.hello.pid == pid }) { return pid }
            print("no such row: \(answer)")
        }
    }
}
