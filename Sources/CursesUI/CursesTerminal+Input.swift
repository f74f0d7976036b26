import CNCurses
import Glibc
import PoolMonitor

extension CursesTerminal {
    /// Waits for a key, at most `timeoutMilliseconds` (forever when negative).
    ///
    /// Keys the monitor has no use for (Insert, other mouse buttons…) are skipped and the wait
    /// goes on. Owning thread only; blocks, so keep it off Swift's cooperative pool.
    /// - Parameter timeoutMilliseconds: how long to wait; 0 polls once, negative waits until a
    ///   key or an interruption.
    /// - Returns: the key; ``KeyInput/resize`` when the terminal changed size (``size`` is then
    ///   the new size); `nil` on timeout, when ``isInterrupted`` (within
    ///   ``interruptLatencyMilliseconds`` of ``TerminalInterrupter/interrupt()``), or when
    ///   ``isDisconnected``.
    public func readKey(timeoutMilliseconds: Int) -> KeyInput? {
        checkOwner()
        let clock = ContinuousClock()
        let start = clock.now
        let deadline: ContinuousClock.Instant? = timeoutMilliseconds < 0 ? nil : start.advanced(by: .milliseconds(timeoutMilliseconds))
        while true {
            if interrupter.isInterrupted || disconnected { return nil }
            var slice = Self.interruptLatencyMilliseconds
            if let deadline {
                let remaining = clock.now.duration(to: deadline)
                slice = min(slice, Self.wholeMilliseconds(roundingUp: remaining))
            }
            wtimeout(window, Int32(slice))
            let waitStart = clock.now
            var value: wint_t = 0
            let status = wget_wch(window, &value)
            if status == cnc_err() {
                if slice > 0, waitStart.duration(to: clock.now) < .milliseconds(slice / 2), inputHungUp() {
                    disconnected = true
                    return nil
                }
                if let deadline, clock.now >= deadline { return nil }
                continue
            }
            guard let key = KeyDecoder.key(status: status, value: value) else { continue }
            if key == .resize {
                // Some terminals reflow their contents on resize; repaint everything.
                needsFullRepaint = true
            }
            return key
        }
    }

    /// `duration` in milliseconds, rounded up (so a wait never ends just short of a deadline),
    /// at least 0.
    static func wholeMilliseconds(roundingUp duration: Duration) -> Int {
        guard duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
        let milliseconds = Int(seconds) * 1000 + Int((attoseconds + attosecondsPerMillisecond - 1) / attosecondsPerMillisecond)
        return max(0, milliseconds)
    }

    /// Whether standard input has hung up (the terminal is gone), checked when `wget_wch` failed
    /// before its timeout.
    private func inputHungUp() -> Bool {
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) >= 0 else { return false }
        let gone = Int16(POLLHUP) | Int16(POLLERR) | Int16(POLLNVAL)
        return descriptor.revents & gone != 0
    }
}
