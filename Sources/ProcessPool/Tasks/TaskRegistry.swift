import Foundation

/// The tasks a worker can run, by name.
///
/// Build one registry at start-up, identically in every process of the program (it is the same
/// executable), and pass it to ``WorkerProcess/runIfRequested(_:)`` before anything else runs:
///
/// ```swift
/// var registry = TaskRegistry()
/// let add = registry.register("add") { (p: Pair<Int, Int>) in p.first + p.second }
/// WorkerProcess.runIfRequested(registry)  // never returns in a worker
/// ```
public struct TaskRegistry: Sendable {
    /// What one run of a task produced, as the worker reports it.
    @usableFromInline
    enum Outcome {
        case success
        case taskFailed(typeName: String, description: String)
        case argumentUndecodable(String)
        case resultUnencodable(String)
    }

    /// Runs the task on an encoded argument and appends the encoded result to the writer.
    @usableFromInline
    typealias Body = @Sendable (UnsafeRawBufferPointer, inout WireWriter) -> Outcome

    /// A registered body, wrapped: a closure stored straight in a `Dictionary` is kept at the
    /// dictionary's generic abstraction, so each call went through two reabstraction thunks
    /// (in and out of it), a measurable part of a tiny task's cost in the worker. In a struct it
    /// keeps its own calling convention.
    struct RegisteredBody {
        let run: Body
    }

    private(set) var bodies: [String: RegisteredBody] = [:]
    /// Each task's argument and result types, to refuse a mismatched ``PoolTask`` at submission.
    private(set) var signatures: [String: TaskSignature] = [:]

    public init() {}

    /// Registers a `Codable` error type: when a task throws an error of this type, the worker
    /// encodes it and the caller catches it as itself (`catch let error as ValidationError`),
    /// rather than as a ``TaskError``. Errors of types not registered still arrive as
    /// ``TaskError``.
    ///
    /// Register error types where the tasks are registered, so that the worker and the parent
    /// know them alike (the registration is process-wide: it covers every pool of the program).
    /// - Parameter type: the error type; it must encode to JSON (a `Double.nan` field does not).
    public mutating func registerError<E: Error & Codable>(_ type: E.Type) {
        let name = String(reflecting: type)
        errorTypeNames.append(name)
        RegisteredErrors.add(E.self, name: name)
    }

    /// The error types registered with ``registerError(_:)``, by `String(reflecting:)`.
    public private(set) var errorTypeNames: [String] = []

    /// The registered argument and result types of the task named `name`, if it is registered.
    func signature(of name: String) -> TaskSignature? { signatures[name] }

    /// The names of every registered task.
    public var taskNames: [String] { bodies.keys.sorted() }

    /// Whether a task of this name is registered.
    public func contains(_ name: String) -> Bool { bodies[name] != nil }

    func body(named name: String) -> RegisteredBody? { bodies[name] }

    /// Registers `body` under `name`, with the binary wire encoding for its argument and result.
    /// - Returns: the handle the parent uses to submit this task to a pool.
    // Inlinable so that the wrapper below is specialised for the caller's types in the caller's
    // module: unspecialised, decoding and encoding went through witness tables and metadata
    // look-ups on every item, a large part of a tiny task's cost in the worker.
    @inlinable
    @discardableResult
    public mutating func register<Argument: WireCodable, Result: WireCodable>(
        _ name: String,
        _ body: @escaping @Sendable (Argument) throws -> Result
    ) -> PoolTask<Argument, Result> {
        add(name, TaskSignature(Argument.self, Result.self)) { raw, writer in
            let argument: Argument
            do {
                var reader = WireReader(raw)
                argument = try Argument(from: &reader)
            } catch {
                return .argumentUndecodable("\(error)")
            }
            do {
                let result = try body(argument)
                result.encode(to: &writer)
                return .success
            } catch {
                return Self.failure(error)
            }
        }
        return PoolTask(name: name)
    }

    /// Registers `body` under `name`, for `Codable` types that are not ``WireCodable``: the
    /// argument and result travel in the compact binary form of ``BinaryEncoder`` (a 4 KB
    /// `[UInt8]` costs about 4 KB; a struct of a few scalars a few hundred nanoseconds each way,
    /// where its ``WireCodable`` twin costs a few).
    // Inlinable for the reason the WireCodable overload is: the wrapper, run once per item in the
    // worker, is specialised for the caller's types.
    @inlinable
    @_disfavoredOverload
    @discardableResult
    public mutating func register<Argument: Codable & Sendable, Result: Codable & Sendable>(
        _ name: String,
        _ body: @escaping @Sendable (Argument) throws -> Result
    ) -> PoolTask<Argument, Result> {
        // Whether the types need the per-value checks (WireCodable inside, optionals): once here.
        let plainArgument = BinaryEncoder.isPlain(Argument.self)
        let plainResult = BinaryEncoder.isPlain(Result.self)
        add(name, TaskSignature(Argument.self, Result.self)) { raw, writer in
            let argument: Argument
            do {
                var reader = WireReader(raw)
                argument = plainArgument ? try BinaryDecoder().decodePlain(Argument.self, from: &reader)
                                         : try BinaryDecoder().decode(Argument.self, from: &reader)
            } catch {
                return .argumentUndecodable("\(error)")
            }
            let result: Result
            do {
                result = try body(argument)
            } catch {
                return Self.failure(error)
            }
            do {
                let mark = writer.count
                do {
                    if plainResult {
                        try BinaryEncoder().encodePlain(result, to: &writer)
                    } else {
                        try BinaryEncoder().encode(result, to: &writer)
                    }
                } catch {
                    writer.truncate(to: mark)  // nothing half-written goes back
                    throw error
                }
                return .success
            } catch {
                return .resultUnencodable("\(error)")
            }
        }
        return PoolTask(name: name)
    }

    /// Registers a two-argument task for ``ProcessPool/starmapAsync(_:_:chunksize:label:callback:errorCallback:)``,
    /// which unpacks each `(a, b)` tuple into the two parameters, as Python's `starmap` does.
    @discardableResult
    public mutating func register<A: WireCodable, B: WireCodable, Result: WireCodable>(
        _ name: String,
        _ body: @escaping @Sendable (A, B) throws -> Result
    ) -> PoolTask<Pair<A, B>, Result> {
        register(name) { (pair: Pair<A, B>) in try body(pair.first, pair.second) }
    }

    @usableFromInline
    mutating func add(_ name: String, _ signature: TaskSignature, _ body: @escaping Body) {
        precondition(bodies[name] == nil, "task '\(name)' is registered twice")
        bodies[name] = RegisteredBody(run: body)
        signatures[name] = signature
    }

    /// What the worker reports for an error a task threw: its type name and description, and
    /// for a type registered with ``registerError(_:)`` the error itself, encoded.
    @usableFromInline
    static func failure(_ error: any Error) -> Outcome {
        let description = String(describing: error)
        guard let encoded = RegisteredErrors.encode(error) else {
            return .taskFailed(typeName: String(reflecting: type(of: error)), description: description)
        }
        return .taskFailed(typeName: encoded.typeName, description: TaskError.pack(encoded.json, description: description))
    }
}

/// A registered task's argument and result types.
@usableFromInline
struct TaskSignature: Sendable {
    let argument: ObjectIdentifier
    let result: ObjectIdentifier
    let argumentName: String
    let resultName: String

    @usableFromInline
    init(_ argument: Any.Type, _ result: Any.Type) {
        self.argument = ObjectIdentifier(argument)
        self.result = ObjectIdentifier(result)
        argumentName = String(reflecting: argument)
        resultName = String(reflecting: result)
    }

    func matches(_ argument: Any.Type, _ result: Any.Type) -> Bool {
        self.argument == ObjectIdentifier(argument) && self.result == ObjectIdentifier(result)
    }
}
