import Foundation
import TerminalTestSupport
import Testing

/// README.md stays true: its library example is the compiled `ReadmeExample` target, and the
/// commands and options it documents exist.
@Suite("README")
struct ReadmeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let readme = (try? String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""

    @Test("the library example in README.md is exactly Examples/ReadmeExample/Example.swift, and it runs")
    func libraryExample() throws {
        let example = try String(contentsOf: Self.root.appendingPathComponent("Examples/ReadmeExample/Example.swift"), encoding: .utf8)
        #expect(Self.readme.contains("```swift\n" + example + "```"), "README's example differs from the compiled one")
        let binary = URL(fileURLWithPath: PoolmonProcess.executable).deletingLastPathComponent().appendingPathComponent("ReadmeExample").path
        let run = try ChildProcess.run(binary, [], timeout: .seconds(120))
        #expect(run.status == 0, "\(run.standardError)")
        let lines = run.standardOutput.split(separator: "\n")
        #expect(lines.first == "999000", "sum of 2i for i < 1000")
        #expect(lines.dropFirst().prefix(10).map(String.init) == (1...10).map { "\($0 * $0)" })
        // The event printer is cancelled after `apply` returns, so a few event lines may follow.
        #expect(lines.dropFirst(11).contains("144"))
    }

    @Test("every subcommand and option README.md names exists", arguments: [
        ("run", ["--workers", "--chunksize", "--delay", "--count", "--mode", "--quiet", "--events", "--jitter",
                 "--launcher", "--hosts", "--ssh-command", "--srun-args"]),
        ("watch", ["--workers", "--chunksize", "--delay", "--count", "--mode", "--events", "--loop", "--quiet", "--jitter",
                   "--launcher", "--hosts", "--ssh-command", "--srun-args"]),
        ("replay", ["--speed", "--follow"]),
    ])
    func commands(subcommand: String, options: [String]) throws {
        #expect(Self.readme.contains("poolmon \(subcommand)"))
        let help = try ChildProcess.run(PoolmonProcess.executable, [subcommand, "--help"])
        #expect(help.status == 0)
        for option in options {
            #expect(help.standardOutput.contains(option), "\(subcommand) --help lists \(option)")
        }
    }

    @Test("the two commands README.md gives are the ones CI runs")
    func twoCommands() throws {
        #expect(Self.readme.contains("swift run poolmon "))
        // One test at a time: the suite starts real processes, terminals and daemons, and on a
        // 2-core machine suites running side by side starve each other's tmux sessions.
        #expect(Self.readme.contains("swift test --no-parallel "))
        let ci = try String(contentsOf: Self.root.appendingPathComponent(".ci/run"), encoding: .utf8)
        #expect(ci.split(separator: "\n").contains("swift test --no-parallel"))
    }
}
