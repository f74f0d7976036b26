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
    /// Encodes a buffer of arguments back to back, each after its `UInt32` length, appending
    /// where each ends to the offsets (``ItemOffsets``). One call per batch, its loop specialized for the
    /// argument type: iterating a caller's collection from generic code cost a metadata lookup,
    /// and for slices an allocation, per item.
    /// - Throws: ``ArgumentEncodingFailure`` naming the item that cannot be encoded.
    @usableFromInline let encodeArguments: @Sendable (UnsafeBufferPointer<Argument>, inout WireWriter, inout ItemOffsets) throws -> Void
    /// Decodes a job's results into memory for them (`results.count` values initialized at the
    /// pointer, in order; on a throw none are left initialized): the end of every `map`,
    /// specialized for the result type for the same reason, and run in parts on several threads
    /// for a large job (see `JobResults.decodeAll`).
    @usableFromInline let decodeResults: @Sendable (EncodedResults, UnsafeMutablePointer<Result>) throws -> Void
    /// Whether a large job's results are worth decoding in parts on several threads (plain
    /// `Codable`, a few hundred nanoseconds each) rather than by ``decodeResults`` on one.
    @usableFromInline let decodesInParts: Bool

    /// A handle for a task registered elsewhere (for example in a worker-only module), using the
    /// binary wire encoding.
    // Inlinable so that these closures are specialised for the caller's types (see
    // `TaskRegistry.register`): they run once per item.
    @inlinable
    public init(name: String) where Argument: WireCodable, Result: WireCodable {
        self.name = name
        encodeArgument = { value, writer in value.encode(to: &writer) }
        decodeResult = { reader in try Result(from: &reader) }
        decodesInParts = false
        encodeArguments = { items, writer, offsets in
            for (position, item) in items.enumerated() {
                let lengthAt = writer.count
                writer.write(UInt32(0))
                item.encode(to: &writer)
                writer.patch(UInt32(truncatingIfNeeded: writer.count - lengthAt - 4), at: lengthAt)
                offsets.append(end: writer.count)
                if position == 0 && items.count > 1 {
                    // Usually all about the same size: room for all of them at once.
                    writer.reserveCapacity(writer.count + (writer.count - lengthAt) * (items.count - 1))
                }
            }
        }
        decodeResults = { results, values in try Self.decode(results, into: values) { try Result(from: &$0) } }
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
        (encodeArguments, decodeResults) = Self.batchCoders(encodeArgument, decodeResult)
        decodesInParts = true
    }

    /// Initializes `results.count` values at `values`, each decoded by `decode` from its result;
    /// on a throw, none are left initialized. Inlined into each task's batch decoder, so that
    /// `decode` is the result type's own `init(from:)` where it is known.
    @inlinable
    static func decode(_ results: EncodedResults, into values: UnsafeMutablePointer<Result>,
                       _ decode: (inout WireReader) throws -> Result) throws {
        var done = 0
        do {
            while done < results.count {
                var reader = WireReader(results[done])
                (values + done).initialize(to: try decode(&reader))
                done += 1
            }
        } catch {
            values.deinitialize(count: done)
            throw error
        }
    }

    /// Batch coders made of per-item ones (for `Codable` types, whose per-item coding costs far
    /// more than the loop around it).
    @inlinable
    static func batchCoders(
        _ encode: @escaping @Sendable (Argument, inout WireWriter) throws -> Void,
        _ decode: @escaping @Sendable (inout WireReader) throws -> Result
    ) -> (@Sendable (UnsafeBufferPointer<Argument>, inout WireWriter, inout ItemOffsets) throws -> Void,
          @Sendable (EncodedResults, UnsafeMutablePointer<Result>) throws -> Void) {
        let encodeAll: @Sendable (UnsafeBufferPointer<Argument>, inout WireWriter, inout ItemOffsets) throws -> Void = { items, writer, offsets in
            for position in 0..<items.count {
                let lengthAt = writer.count
                writer.write(UInt32(0))
                do {
                    try encode(items[position], &writer)
                } catch {
                    writer.truncate(to: lengthAt)
                    throw ArgumentEncodingFailure(position: position, underlying: error)
                }
                writer.patch(UInt32(truncatingIfNeeded: writer.count - lengthAt - 4), at: lengthAt)
                offsets.append(end: writer.count)
            }
        }
        let decodeAll: @Sendable (EncodedResults, UnsafeMutablePointer<Result>) throws -> Void = { results, values in
            try Self.decode(results, into: values, decode)
        }
        return (encodeAll, decodeAll)
    }

    /// An initializer that runs this task once, with `argument`, in every worker before its
    /// first task (also in workers that replace dead ones). Its result is discarded.
    public func initializer(_ argument: Argument) throws -> WorkerInitializer {
        var writer = WireWriter()
        try encodeArgument(argument, &writer)
        return WorkerInitializer(taskName: name, argument: writer.bytes)
    }
}

/// The argument at `position` of a batch could not be encoded.
@usableFromInline
struct ArgumentEncodingFailure: Error {
    let position: Int
    let underlying: any Error

    @usableFromInline
    init(position: Int, underlying: any Error) {
        self.position = position
        self.underlying = underlying
    }
}

/// A registered task and its encoded argument, run once in each worker before its first task.
public struct WorkerInitializer: Sendable, Equatable {
    public let taskName: String
    public let argument: [UInt8]
}
