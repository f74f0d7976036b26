/// An error raised by the pool itself (as opposed to a task's own error, ``TaskError``).
public struct PoolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }

        /// A parameter is out of range (workers < 1, chunksize < 1, ...).
        public static let invalidArgument = Code(name: "invalidArgument")
        /// Work was submitted after `close()` or `terminate()`.
        public static let notRunning = Code(name: "notRunning")
        /// `join()` was called on a pool that was neither closed nor terminated.
        public static let stillRunning = Code(name: "stillRunning")
        /// A result was not ready within the timeout.
        public static let timeout = Code(name: "timeout")
        /// The pool was terminated before the result was ready.
        public static let terminated = Code(name: "terminated")
        /// An item kept killing the workers that ran it.
        public static let workerCrashed = Code(name: "workerCrashed")
        /// No task of that name is registered.
        public static let unknownTask = Code(name: "unknownTask")
        /// An argument or result could not be encoded or decoded.
        public static let encoding = Code(name: "encoding")
        /// `successful()` was asked before the result was ready.
        public static let notReady = Code(name: "notReady")
        /// A worker process could not be started.
        public static let spawnFailed = Code(name: "spawnFailed")
        /// The worker initializer failed.
        public static let initializerFailed = Code(name: "initializerFailed")
        /// The input sequence of a map or imap threw.
        public static let inputFailed = Code(name: "inputFailed")
        /// The library was used in a way that cannot work, and the message says what to do: a
        /// pool started in a worker process (``WorkerProcess/runIfRequested(_:)`` not reached),
        /// a task handle whose types differ from the registered task's, a second consumer of a
        /// ``ResultStream``.
        public static let misuse = Code(name: "misuse")
    }

    public let code: Code
    public let message: String
    /// For ``Code/workerCrashed``: the last worker the item killed, and how it died.
    public var workerPID: Int32?
    public var termination: WorkerTermination?
    /// For ``Code/workerCrashed`` (and ``Code/timeout``): the last lines that worker wrote to its
    /// standard error before it died (and to its standard output, with
    /// ``ProcessPool/Configuration/captureOutput``), such as a `fatalError`'s message; at most
    /// ``WorkerExitDetails/maxOutputLines`` of them. The worker's `workerExited` event has them too.
    public var workerOutput: [String]

    public init(_ code: Code, _ message: String, workerPID: Int32? = nil, termination: WorkerTermination? = nil,
                workerOutput: [String] = []) {
        self.code = code
        self.message = message
        self.workerPID = workerPID
        self.termination = termination
        self.workerOutput = workerOutput
    }

    /// The message, then the worker's last output lines, if any (indented, one a line).
    public var description: String {
        guard !workerOutput.isEmpty else { return message }
        let who = workerPID.map { "worker \($0)" } ?? "the worker"
        return message + "; the last output of \(who):\n" + workerOutput.map { "    " + $0 }.joined(separator: "\n")
    }
}

/// An error thrown by a task inside a worker, carried back to the caller.
///
/// Swift cannot rebuild an arbitrary error type from another process, so the type's name and the
/// error's description travel instead.
public struct TaskError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `String(reflecting:)` of the thrown error's type, e.g. `MyModule.ValidationError`.
    public let typeName: String
    /// `String(describing:)` of the thrown error.
    public let remoteDescription: String
    public let task: String
    /// The item's index in its job's input.
    public let index: Int
    /// The worker that ran it.
    public let workerPID: Int32

    /// The error itself, as JSON, when its type was registered with
    /// ``TaskRegistry/registerError(_:)`` (the pool hands it over as itself when it decodes).
    let encodedError: String?

    public var description: String {
        "\(task) \(PoolError.itemName(index)) failed in worker \(workerPID): \(typeName): \(remoteDescription)"
    }

    /// Unpacks a description that carries an encoded error (see ``pack(_:description:)``).
    init(typeName: String, remoteDescription: String, task: String, index: Int, workerPID: Int32) {
        self.typeName = typeName
        self.task = task
        self.index = index
        self.workerPID = workerPID
        if remoteDescription.hasPrefix(Self.marker),
           let end = remoteDescription.dropFirst(Self.marker.count).firstIndex(of: "\u{1}") {
            encodedError = String(remoteDescription[remoteDescription.index(remoteDescription.startIndex, offsetBy: Self.marker.count)..<end])
            self.remoteDescription = String(remoteDescription[remoteDescription.index(after: end)...])
        } else {
            encodedError = nil
            self.remoteDescription = remoteDescription
        }
    }

    /// How an encoded error travels in the description field of an item's failure: a marker,
    /// the JSON (which never holds a raw U+0001), U+0001, the plain description.
    private static let marker = "\u{1}error-json\u{1}"

    static func pack(_ json: String, description: String) -> String {
        marker + json + "\u{1}" + description
    }
}

extension PoolError {
    /// How messages name an item: `item 7 (index 6)`. People count from 1 (`--crash-on sum:7`,
    /// the monitor's screens); the index is what the caller's code uses.
    static func itemName(_ index: Int) -> String { "item \(index + 1) (index \(index))" }
}
