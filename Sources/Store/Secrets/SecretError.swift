/// Why a secret could not be sealed or opened. Never carries secret material.
public typealias SecretError = CodedError<SecretErrorCode>

public enum SecretErrorCode: String, Sendable {
    case invalidKey
    case noKeyConfigured
    case unknownKey
    case decryptionFailed
    case malformed
}
