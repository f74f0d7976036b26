import Foundation

/// The IO thread's answer to one command that the caller waits for (success or an error).
final class CommandReply: @unchecked Sendable {
    // Safe: `outcome` is only read and written while `condition` is locked.
    private let condition = NSCondition()
    private var outcome: PoolError??

    /// Reports success (`nil`) or the error; called once, by the IO thread.
    func report(_ error: PoolError?) {
        condition.lock()
        if outcome == nil { outcome = .some(error) }
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the report, throwing a failure.
    func wait() throws(PoolError) {
        condition.lock()
        while outcome == nil { condition.wait() }
        let result = outcome!
        condition.unlock()
        if let error = result { throw error }
    }
}
