/// Why a secret could not be sealed or opened. Never carries secret material.
public struct SecretError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case invalidKey
        case noKeyConfigured
        case unknownKey
        case decryptionFailed
        case malformed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
