import Glibc

/// The mark a watched CPython worker puts before each line it writes, so that the output pane can
/// name the worker rather than the program.
///
/// Under `poolmon watch`, a Python program's workers write to the same pipe as the program
/// itself (forked and spawned children inherit its standard output and error), so poolmon cannot
/// tell from the pipe who wrote a line. The instrumentation (`poolmon_cpython._tag_output`)
/// therefore starts each line a worker writes with `ESC ] 7771 ; PID BEL`, an operating-system
/// command no terminal acts on, and only when the worker's stream is still the very pipe poolmon
/// made (its device and inode, passed in ``environmentKey``): output the script redirects
/// elsewhere is never marked.
///
/// A line is the program's output, so anything may arrive here: a mark that is malformed, too
/// long, or names PID 0 is left in the line as text, and the line is credited to the program.
struct WorkerOutputTag {
    /// The environment variable that carries the output pipe's `device:inode` to the program.
    static let environmentKey = "POOLMON_OUTPUT_PIPE"

    private static let prefix: [UInt8] = [0x1B, UInt8(ascii: "]"), UInt8(ascii: "7"), UInt8(ascii: "7"),
                                          UInt8(ascii: "7"), UInt8(ascii: "1"), UInt8(ascii: ";")]
    private static let terminator: UInt8 = 0x07
    /// Enough digits for any `Int32`; a longer run is not a mark.
    private static let maximumDigits = 10

    /// Splits a line into the PID its mark names (nil when it has none) and the line without it.
    static func split<Line: Collection>(_ line: Line) -> (pid: Int32?, text: Line.SubSequence)
    where Line.Element == UInt8 {
        guard line.starts(with: prefix) else { return (nil, line[...]) }
        var index = line.index(line.startIndex, offsetBy: prefix.count)
        var value: Int64 = 0
        var digits = 0
        while index != line.endIndex, line[index] != terminator {
            let byte = line[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < maximumDigits else {
                return (nil, line[...])
            }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            digits += 1
            index = line.index(after: index)
        }
        guard index != line.endIndex, digits > 0, value > 0, value <= Int64(Int32.max) else {
            return (nil, line[...])
        }
        return (Int32(value), line[line.index(after: index)...])
    }

    /// `device:inode` of an open descriptor, as the instrumentation compares it (nil if `fstat` fails).
    static func identity(of descriptor: Int32) -> String? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        return "\(status.st_dev):\(status.st_ino)"
    }
}
