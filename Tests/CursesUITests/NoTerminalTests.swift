import Foundation
import TerminalTestSupport
import Testing

@Suite("CursesHarness without a terminal")
struct NoTerminalTests {
    @Test("with pipes instead of a terminal it says so and exits 1")
    func pipes() throws {
        let output = try ChildProcess.run(try HarnessBinary.path(), [], input: .closedPipe)
        #expect(output.status == 1)
        #expect(output.standardError == "harness: not a terminal\n")
        #expect(output.standardOutput.isEmpty, "wrote to stdout: \(output.standardOutput.debugDescription)")
    }
}
