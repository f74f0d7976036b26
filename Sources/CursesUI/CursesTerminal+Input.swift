import CNCurses
import Glibc
import PoolMonitor

extension CursesTerminal {
    /// Waits for a key, at most `timeoutMilliseconds` (forever when negative).
    ///
    /// Keys the monitor has no use for (Insert, Page Up, mouse events…) are skipped and the wait
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
                let remainingMilliseconds = max(0, Int(remaining.components.seconds) * 1000 + Int(remaining.components.attoseconds / 1_000_000_000_000_000))
                slice = min(slice, remainingMilliseconds)
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

    /// Whether standard input has hung up (the terminal is gone), checked when `wget_wch` failed
    /// before its timeout.
    private func inputHungUp() -> Bool {
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) >= 0 else { return false }
        let gone = Int16(POLLHUP) | Int16(POLLERR) | Int16(POLLNVAL)
        return descriptor.revents & gone != 0
    }
}
