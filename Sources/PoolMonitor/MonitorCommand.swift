/// What a key asks the monitor to do. ``KeyMap`` makes these from keys; the app carries them out
/// (the pure ones through ``MonitorUIState`` and ``MonitorSettings``, the rest on the pool).
public enum MonitorCommand: Sendable, Equatable, Hashable, CaseIterable {
    case quit
    /// Show or hide the help overlay.
    case toggleHelp
    /// One more worker, at once.
    case addWorker
    /// One worker fewer (it retires after its current chunk).
    case removeWorker
    /// One more item per chunk, from the next run.
    case chunkUp
    /// One item fewer per chunk (below 1: automatic), from the next run.
    case chunkDown
    /// The next of map_async, imap, imap_unordered, from the next run.
    case cycleMode
    /// Start the run again now, with the pending settings.
    case restart
    /// Freeze or unfreeze the view (events keep being collected).
    case togglePause
    /// Open the signal menu for the selected worker (`k`, F9): SIGKILL preselected, also
    /// TERM, INT, STOP, CONT; a killed worker is replaced and its item re-run.
    case killSelected
    case selectPrevious
    case selectNext
    /// Repaint the whole terminal.
    case redraw
    /// Show the next pool of the watched program (`n`).
    case nextPool
    /// Step the view one event back / forward (`←`/`→`; pauses first).
    case stepBack, stepForward
    /// Step one second of the run back / forward (`Shift-←`/`Shift-→`).
    case stepBackSecond, stepForwardSecond
    /// Step to the previous / next chunk dispatch (`,`/`.`): the moments work is handed out.
    case stepBackDispatch, stepForwardDispatch
    /// Scroll the focused pane a page up / down (`PgUp`/`PgDn`, the wheel).
    case scrollUp, scrollDown
    /// The focused pane's oldest line (`Home`); its newest, following again (`End`: pressed
    /// again, or when already following, it also returns a paused view to live).
    case scrollHome, scrollEnd
    /// Move the focus to the next / previous pane (`Tab`/`Shift-Tab`, or a click).
    case focusNext, focusPrevious
    /// Open the inspector on the selected item or worker (`Enter`); Esc closes it.
    case inspect
    /// Replay faster / slower (`f` and `s`).
    case speedUp, speedDown
    /// Order the worker grid by the next column (`F6`, `>`): slot, PID, CPU, RSS, done, state.
    case sortNext
    /// Order it by the previous column (`<`).
    case sortPrevious
    /// Type a filter for the worker output and pool events (`/`).
    case editFilter
}
