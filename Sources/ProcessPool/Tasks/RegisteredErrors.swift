import Foundation
import Synchronization

/// The `Codable` error types registered with ``TaskRegistry/registerError(_:)``, process-wide:
/// the worker encodes a thrown error of such a type, and the parent decodes it back.
enum RegisteredErrors {
    struct Coder: Sendable {
        let typeName: String
        let encode: @Sendable (any Error) -> String?
        let decode: @Sendable (String) -> (any Error)?
    }

    private static let coders = Mutex<(byType: [ObjectIdentifier: Coder], byName: [String: Coder])>(([:], [:]))

    static func add<E: Error & Codable>(_ type: E.Type, name: String) {
        let coder = Coder(
            typeName: name,
            encode: { error in
                guard let error = error as? E, let data = try? JSONEncoder().encode(error) else { return nil }
                return String(decoding: data, as: UTF8.self)
            },
            decode: { json in try? JSONDecoder().decode(E.self, from: Data(json.utf8)) })
        coders.withLock { coders in
            coders.byType[ObjectIdentifier(type)] = coder
            coders.byName[name] = coder
        }
    }

    /// The error's type name and JSON, when its type is registered and it encodes.
    static func encode(_ error: any Error) -> (typeName: String, json: String)? {
        guard let coder = coders.withLock({ $0.byType[ObjectIdentifier(type(of: error))] }),
              let json = coder.encode(error)
        else { return nil }
        return (coder.typeName, json)
    }

    /// The task's own error, when it came encoded and its type is registered here; otherwise
    /// `error` unchanged.
    static func revive(_ error: any Error) -> any Error {
        guard let taskError = error as? TaskError, let json = taskError.encodedError,
              let coder = coders.withLock({ $0.byName[taskError.typeName] }),
              let original = coder.decode(json)
        else { return error }
        return original
    }
}
