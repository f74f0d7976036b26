import Testing

@testable import poolmon

/// The mark a watched CPython worker puts before its lines: read strictly, since any program
/// can print anything.
@Suite("worker output marks")
struct WorkerOutputTagTests {
    func split(_ text: String) -> (pid: Int32?, text: String) {
        let (pid, rest) = WorkerOutputTag.split(Array(text.utf8))
        return (pid, String(decoding: rest, as: UTF8.self))
    }

    @Test("a mark names the worker and is removed from the line")
    func marked() {
        #expect(split("\u{1B}]7771;4242\u{07}Worker 4242 is processing sum(1,11)") == (4242, "Worker 4242 is processing sum(1,11)"))
        #expect(split("\u{1B}]7771;2147483647\u{07}") == (Int32.max, ""))
    }

    @Test("a line without a mark is the program's, unchanged")
    func unmarked() {
        #expect(split("Sum of sums of 'a' and 'b' is 210") == (nil, "Sum of sums of 'a' and 'b' is 210"))
        #expect(split("") == (nil, ""))
    }

    @Test("a malformed, oversized or zero mark is left in the line as text", arguments: [
        "\u{1B}]7771;\u{07}empty",            // no digits
        "\u{1B}]7771;0\u{07}zero",            // PID 0 is no worker
        "\u{1B}]7771;2147483648\u{07}big",    // beyond Int32
        "\u{1B}]7771;99999999999999999999\u{07}long",  // more digits than any PID
        "\u{1B}]7771;12a\u{07}letters",
        "\u{1B}]7771;123",                    // no terminator
        "\u{1B}]7772;123\u{07}other",         // another command
    ])
    func malformed(line: String) {
        #expect(split(line) == (nil, line))
    }
}
