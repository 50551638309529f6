import Foundation
import Store
import TestSupport
import Testing

@Suite struct SecretsRotateTests {
    @Test(.requiresDatabase) func rotateResealsUnderTheNewKeyOnceAndTheOldKeyIsThenUnneeded() async throws {
        try await CLIFixture.with("rotate") { fx in
            #expect(try fx.addTenant("contoso", secret: "pw-contoso").status == 0)
            #expect(try fx.addTenant("fabrikam", secret: "pw-fabrikam").status == 0)
            let (newKey, newBase64) = SecretKey.generate()
            let rotationEnv = ["EWSFLEET_SECRET_KEY": newBase64, "EWSFLEET_SECRET_PREVIOUS_KEYS": fx.key]

            // Without the old key the secrets cannot be opened: permission error, nothing changed.
            let withoutOld = try fx.run(["secrets", "rotate"], environment: ["EWSFLEET_SECRET_KEY": newBase64])
            #expect(withoutOld.status == 77)
            #expect(withoutOld.stderr.split(separator: "\n").count == 1)

            let first = try fx.run(["secrets", "rotate"], environment: rotationEnv)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stdout.contains("resealed 2 current 0"))
            let second = try fx.run(["secrets", "rotate"], environment: rotationEnv)
            #expect(second.stdout.contains("resealed 0 current 2"))

            let pool = fx.db.pool()
            let tenants = try await TenantRepository(pool: pool).list()
            await pool.shutdown()
            let keyring = SecretKeyring(current: newKey)   // the old key is no longer needed
            for tenant in tenants {
                let sealed = try #require(tenant.sealedSecret)
                #expect(sealed.keyID == newKey.id)
                #expect(try keyring.open(sealed, tenant: tenant.name).unredactedValue == "pw-\(tenant.name)")
            }
        }
    }
}
