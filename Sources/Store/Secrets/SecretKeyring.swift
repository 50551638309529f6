public import Foundation
import Crypto
public import Support

/// Seals tenant secrets with AES-256-GCM under the current key and opens them with whichever
/// configured key sealed them, so `ewsfleet secrets rotate` can re-seal while old rows stay readable.
///
/// Layout of a sealed secret: 1 version byte, 12-byte nonce, ciphertext, 16-byte tag.
/// The tenant name is bound in as associated data, so a ciphertext copied onto another tenant's row
/// fails to open instead of handing that tenant the wrong password.
public struct SecretKeyring: Sendable {
    public let current: SecretKey?
    public let previous: [SecretKey]
    static let formatVersion: UInt8 = 1

    public init(current: SecretKey?, previous: [SecretKey] = []) {
        self.current = current
        self.previous = previous.filter { $0.id != current?.id }
    }

    public struct Sealed: Sendable, Equatable {
        public var ciphertext: Data
        public var keyID: String
    }

    public func seal(_ secret: Secret, tenant: String) throws(SecretError) -> Sealed {
        guard let key = current else {
            throw SecretError(.noKeyConfigured,
                "no secret key configured: set EWSFLEET_SECRET_KEY or secret.keyFile in the configuration")
        }
        do {
            let box = try AES.GCM.seal(Data(secret.unredactedValue.utf8), using: key.symmetricKey,
                                       authenticating: Self.associatedData(tenant))
            var out = Data([Self.formatVersion])
            out.append(contentsOf: box.nonce)
            out.append(box.ciphertext)
            out.append(box.tag)
            return Sealed(ciphertext: out, keyID: key.id)
        } catch {
            throw SecretError(.malformed, "sealing the secret for tenant \(tenant) failed")
        }
    }

    public func open(_ sealed: Sealed, tenant: String) throws(SecretError) -> Secret {
        guard let key = ([current].compactMap { $0 } + previous).first(where: { $0.id == sealed.keyID }) else {
            let configured = ([current].compactMap { $0 } + previous).map(\.id)
            throw SecretError(.unknownKey,
                "the secret of tenant \(tenant) was sealed with key \(sealed.keyID), which is not configured"
                + (configured.isEmpty ? " (no key configured)" : " (configured: \(configured.joined(separator: ", ")))"))
        }
        let bytes = sealed.ciphertext
        guard bytes.count >= 1 + 12 + 16, bytes.first == Self.formatVersion else {
            throw SecretError(.malformed, "the stored secret of tenant \(tenant) is malformed")
        }
        do {
            let body = bytes.dropFirst()
            let nonce = try AES.GCM.Nonce(data: body.prefix(12))
            let box = try AES.GCM.SealedBox(nonce: nonce,
                                            ciphertext: body.dropFirst(12).dropLast(16),
                                            tag: body.suffix(16))
            let plain = try AES.GCM.open(box, using: key.symmetricKey, authenticating: Self.associatedData(tenant))
            guard let text = String(data: plain, encoding: .utf8) else {
                throw SecretError(.malformed, "the stored secret of tenant \(tenant) is not UTF-8")
            }
            return Secret(text)
        } catch let error as SecretError {
            throw error
        } catch {
            throw SecretError(.decryptionFailed,
                "the secret of tenant \(tenant) cannot be decrypted with key \(key.id): wrong key or tampered data")
        }
    }

    /// Whether a sealed secret should be re-sealed by a rotation.
    public func needsRotation(_ sealed: Sealed) -> Bool { sealed.keyID != current?.id }

    static func associatedData(_ tenant: String) -> Data { Data("ewsfleet:tenant:\(tenant)".utf8) }
}
