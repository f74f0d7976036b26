/// What the inspector overlay shows (`Enter`): an item of a job, or a worker's slot (the item it
/// runs and, if a process died in that slot, its death report).
public enum Inspection: Sendable, Equatable {
    case item(job: Int, index: Int)
    case worker(slot: Int)
}
