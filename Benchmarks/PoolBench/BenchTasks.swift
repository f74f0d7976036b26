import Glibc
import ProcessPool

/// The benchmark's task: the anchor's `add((x, y))`, as tiny as a task gets, so that what is
/// measured is the pool's own cost per task.
enum BenchTasks {
    static let registry: TaskRegistry = {
        var registry = TaskRegistry()
        registry.register("add") { (pair: Pair<Int, Int>) in pair.first + pair.second }
        // For the soak: `first + 1` after sleeping `second` microseconds, so kills land mid-chunk.
        registry.register("slowIncrement") { (pair: Pair<Int, Int>) -> Int in
            if pair.second > 0 { usleep(UInt32(pair.second)) }
            return pair.first + 1
        }
        // For latency: sleep `second` microseconds, then return when it ended (CLOCK_MONOTONIC
        // nanoseconds, the same clock in every process of the machine).
        registry.register("stampedSleep") { (pair: Pair<Int, Int>) -> Int in
            if pair.second > 0 { usleep(UInt32(pair.second)) }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            return now.tv_sec * 1_000_000_000 + now.tv_nsec
        }
        return registry
    }()

    static let add = PoolTask<Pair<Int, Int>, Int>(name: "add")
    static let slowIncrement = PoolTask<Pair<Int, Int>, Int>(name: "slowIncrement")
    static let stampedSleep = PoolTask<Pair<Int, Int>, Int>(name: "stampedSleep")

    /// The latency workload's input: every 25th item sleeps 5 ms, the others not at all.
    static func mixed(_ n: Int) -> [Pair<Int, Int>] { (0..<n).map { Pair($0, $0 % 25 == 24 ? 5_000 : 0) } }

    /// The anchor's input: `(i, i + 1)` for `i` in `0..<n`; the results sum to `n * n`.
    static func pairs(_ n: Int) -> [Pair<Int, Int>] { (0..<n).map { Pair($0, $0 + 1) } }
}
