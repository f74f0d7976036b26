import Foundation

/// A handle to a task registered by name in a ``TaskRegistry``: what the parent process needs to
/// send arguments to a worker and to read its results back.
///
/// Functions cannot travel between processes, so the pool sends the task's *name*; the worker,
/// running the same executable, finds the body in its own registry.
public struct PoolTask<Argument: Sendable, Result: Sendable>: Sendable {
    /// The name the task was registered under.
    public let name: String
    @usableFromInline let encodeArgument: @Sendable (Argument, inout WireWriter) throws -> Void
    @usableFromInline let decodeResult: @Sendable (inout WireReader) throws -> Result

    /// A handle for a task registered elsewhere (for example in a worker-only module), using the
    /// binary wire encoding.
    // Inlinable so that these closures are specialised for the caller's types (see
    // `TaskRegistry.register`): they run once per item.
    @inlinable
    public init(name: String) where Argument: WireCodable, Result: WireCodable {
        self.name = name
        encodeArgument = { value, writer in value.encode(to: &writer) }
        decodeResult = { reader in try Result(from: &reader) }
    }

    /// A handle for a task registered elsewhere, for any `Codable` argument and result: they
    /// travel in the compact binary form of ``BinaryEncoder``.
    // Inlinable, as the WireCodable initializer is: specialised for the caller's types, the
    // closures call the type's own `encode(to:)` and `init(from:)` directly, once per item.
    @inlinable
    @_disfavoredOverload
    public init(name: String) where Argument: Codable, Result: Codable {
        self.name = name
        if BinaryEncoder.isPlain(Argument.self) {
            encodeArgument = { value, writer in try BinaryEncoder().encodePlain(value, to: &writer) }
        } else {
            encodeArgument = { value, writer in try BinaryEncoder().encode(value, to: &writer) }
        }
        if BinaryEncoder.isPlain(Result.self) {
            decodeResult = { reader in try BinaryDecoder().decodePlain(Result.self, from: &reader) }
        } else {
            decodeResult = { reader in try BinaryDecoder().decode(Result.self, from: &reader) }
        }
    }

    /// An initializer that runs this task once, with `argument`, in every worker before its
    /// first task (also in workers that replace dead ones). Its result is discarded.
    public func initializer(_ argument: Argument) throws -> WorkerInitializer {
        var writer = WireWriter()
        try encodeArgument(argument, &writer)
        return WorkerInitializer(taskName: name, argument: writer.bytes)
    }
}

/// A registered task and its encoded argument, run once in each worker before its first task.
public struct WorkerInitializer: Sendable, Equatable {
    public let taskName: String
    public let argument: [UInt8]
}
