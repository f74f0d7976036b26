import Foundation

/// Hands the outcome of the IO thread's start-up (spawning the first workers) back to the
/// thread waiting in `ProcessPool.init`.
final class StartupResult: @unchecked Sendable {
    // Safe: `outcome` is only read and written while `condition` is locked.
    private let condition = NSCondition()
    private var outcome: (any Error)??

    /// Reports success (`nil`) or the error; called once, by the IO thread.
    func report(_ error: (any Error)?) {
        condition.lock()
        outcome = .some(error)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the report, rethrowing a failure.
    func wait() throws {
        condition.lock()
        while outcome == nil { condition.wait() }
        let result = outcome!
        condition.unlock()
        if let error = result { throw error }
    }
}
