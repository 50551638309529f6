import Foundation
import Testing
@testable import Store
import Support

@Suite struct SecretKeyringTests {
    let key = SecretKey.generate().key

    @Test func sealAndOpenRoundTrips() throws {
        let ring = SecretKeyring(current: key)
        let secret = Secret("p@ss'word\"; DROP TABLE tenants; --\u{1F511}")
        let sealed = try ring.seal(secret, tenant: "contoso")
        #expect(sealed.keyID == key.id)
        #expect(!String(decoding: sealed.ciphertext, as: UTF8.self).contains("p@ss"))
        #expect(try ring.open(sealed, tenant: "contoso") == secret)
    }

    @Test func sealingTwiceGivesDifferentCiphertexts() throws {
        let ring = SecretKeyring(current: key)
        let a = try ring.seal(Secret("same"), tenant: "t")
        let b = try ring.seal(Secret("same"), tenant: "t")
        #expect(a.ciphertext != b.ciphertext)  // fresh nonce every time
    }

    @Test func wrongKeyWithSameIDFailsCleanly() throws {
        let sealed = try SecretKeyring(current: key).seal(Secret("secret"), tenant: "t")
        var forged = sealed
        forged.keyID = SecretKey.generate().key.id
        let other = SecretKeyring(current: SecretKey.generate().key)
        #expect(throws: SecretError.self) { try other.open(sealed, tenant: "t") }
        do {
            _ = try other.open(sealed, tenant: "t")
        } catch {
            #expect(error.code == .unknownKey)
            #expect(error.description.contains(sealed.keyID))
        }
    }

    @Test func tamperedCiphertextOrOtherTenantIsRejected() throws {
        let ring = SecretKeyring(current: key)
        var sealed = try ring.seal(Secret("secret"), tenant: "a")
        #expect(performing: { try ring.open(sealed, tenant: "b") },
                throws: { ($0 as? SecretError)?.code == .decryptionFailed })
        sealed.ciphertext[sealed.ciphertext.count - 1] ^= 0x01
        #expect(performing: { try ring.open(sealed, tenant: "a") },
                throws: { ($0 as? SecretError)?.code == .decryptionFailed })
        #expect(performing: { try ring.open(.init(ciphertext: Data([1, 2]), keyID: key.id), tenant: "a") },
                throws: { ($0 as? SecretError)?.code == .malformed })
    }

    @Test func previousKeysStillOpenAfterRotation() throws {
        let old = SecretKey.generate().key
        let sealed = try SecretKeyring(current: old).seal(Secret("s"), tenant: "t")
        let rotated = SecretKeyring(current: key, previous: [old])
        #expect(rotated.needsRotation(sealed))
        #expect(try rotated.open(sealed, tenant: "t").unredactedValue == "s")
        let resealed = try rotated.seal(rotated.open(sealed, tenant: "t"), tenant: "t")
        #expect(!rotated.needsRotation(resealed))
    }

    @Test func noKeyConfiguredIsAClearError() {
        #expect(performing: { try SecretKeyring(current: nil).seal(Secret("s"), tenant: "t") },
                throws: { ($0 as? SecretError)?.code == .noKeyConfigured })
    }

    @Test(arguments: ["", "not base64!", Data(count: 16).base64EncodedString()])
    func invalidKeysAreRejected(_ text: String) {
        #expect(throws: SecretError.self) { try SecretKey(base64: text) }
    }

    @Test func keyAndSecretNeverPrintThemselves() throws {
        let (key, base64) = SecretKey.generate()
        #expect(!String(describing: key).contains(base64))
        let secret = Secret("hunter2")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "Secret(<redacted>)")
        #expect(!"\([secret])".contains("hunter2"))
        #expect(!String(describing: Mirror(reflecting: secret).children.map(\.value)).contains("hunter2"))
    }
}
