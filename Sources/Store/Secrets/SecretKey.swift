import Crypto
import Foundation

/// A 32-byte AES-256 key for sealing tenant secrets at rest.
///
/// The key never goes into the database; only its `id` does, beside each ciphertext, so a key can be
/// rotated: the keyring tries the key whose id the row names. The id is a truncated SHA-256 of the key,
/// which identifies the key without revealing it.
public struct SecretKey: Sendable, CustomStringConvertible {
    // Raw bytes rather than SymmetricKey, which is not Sendable in this swift-crypto version.
    private let raw: Data
    var symmetricKey: SymmetricKey { SymmetricKey(data: raw) }
    public let id: String

    /// - Parameter base64: 32 random bytes, base64-encoded (`openssl rand -base64 32`).
    public init(base64: String) throws(SecretError) {
        let trimmed = base64.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Data(base64Encoded: trimmed) else {
            throw SecretError(.invalidKey, "the secret key is not valid base64")
        }
        guard bytes.count == 32 else {
            throw SecretError(.invalidKey, "the secret key must be 32 bytes (base64 of 32 random bytes), got \(bytes.count)")
        }
        self.init(rawBytes: bytes)
    }

    init(rawBytes: Data) {
        raw = rawBytes
        let digest = SHA256.hash(data: rawBytes)
        id = digest.prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    /// A fresh random key, for `ewsfleet secrets generate-key` and tests.
    public static func generate() -> (key: SecretKey, base64: String) {
        let raw = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return (SecretKey(rawBytes: raw), raw.base64EncodedString())
    }

    /// Reads a key file holding the base64 key (surrounding whitespace ignored).
    /// Refuses a file that group or others may read or write: the key opens every tenant secret, so
    /// a readable copy is as good as the secrets themselves (like ssh with a private key).
    public static func load(file path: String) throws(SecretError) -> SecretKey {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            throw SecretError(.invalidKey, "the secret key file \(path) is accessible by group or others (mode "
                              + String(info.st_mode & 0o777, radix: 8) + "): run chmod 600 on it")
        }
        guard let data = FileManager.default.contents(atPath: path),
              let text = String(data: data, encoding: .utf8)
        else {
            throw SecretError(.invalidKey, "cannot read the secret key file \(path)")
        }
        return try SecretKey(base64: text)
    }

    public var description: String { "SecretKey(id: \(id))" }
}
