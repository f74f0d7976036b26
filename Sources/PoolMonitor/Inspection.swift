/// What the inspector overlay shows (`Enter`): an item of a job, or a worker's slot (the item it
/// runs and, if a process died in that slot, its death report).
public enum Inspection: Sendable, Equatable {
    /// Item `index` (0-based) of job `job`.
    case item(job: Int, index: Int)
    /// The worker in slot `slot`: the item it runs, and the last death in that slot.
    case worker(slot: Int)
}
