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

    private(set) var bodies: [String: Body] = [:]

    public init() {}

    /// The names of every registered task.
    public var taskNames: [String] { bodies.keys.sorted() }

    /// Whether a task of this name is registered.
    public func contains(_ name: String) -> Bool { bodies[name] != nil }

    func body(named name: String) -> Body? { bodies[name] }

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
        add(name) { raw, writer in
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

    /// Registers `body` under `name`, with JSON for its argument and result (for `Codable` types
    /// that are not ``WireCodable``).
    @_disfavoredOverload
    @discardableResult
    public mutating func register<Argument: Codable & Sendable, Result: Codable & Sendable>(
        _ name: String,
        _ body: @escaping @Sendable (Argument) throws -> Result
    ) -> PoolTask<Argument, Result> {
        add(name) { raw, writer in
            let argument: Argument
            do {
                argument = try JSONCoding.decode(Argument.self, from: raw)
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
                writer.writeRaw(try JSONCoding.encode(result))
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
    mutating func add(_ name: String, _ body: @escaping Body) {
        precondition(bodies[name] == nil, "task '\(name)' is registered twice")
        bodies[name] = body
    }

    @usableFromInline
    static func failure(_ error: any Error) -> Outcome {
        .taskFailed(typeName: String(reflecting: type(of: error)), description: String(describing: error))
    }
}
