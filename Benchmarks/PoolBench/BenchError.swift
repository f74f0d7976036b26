/// A benchmark that could not run or gave a wrong answer.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    /// Not a failure: something the workload needs is missing here (it is reported as skipped).
    var isSkip = false

    init(_ description: String, skip: Bool = false) {
        self.description = description
        isSkip = skip
    }
}
