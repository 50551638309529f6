import Foundation
import Support

/// Secret rotation and replacement.
extension TenantRepository {
    public struct RotationReport: Sendable, Equatable {
        /// Secrets re-sealed under the current key by this run.
        public var resealed: Int
        /// Secrets that were already under the current key.
        public var current: Int
    }

    /// Re-seals every tenant secret that is not sealed under the keyring's current key, in one
    /// transaction: either every secret moves to the new key or none does. Rows are locked
    /// (`FOR UPDATE`) so a concurrent `tenant update` cannot be overwritten by a stale value.
    /// Opening uses the keyring's previous keys; a secret no configured key opens fails the whole
    /// rotation with the tenant named. Idempotent: a second run re-seals nothing.
    public func rotateSecrets(keyring: SecretKeyring) async throws -> RotationReport {
        guard keyring.current != nil else {
            throw SecretError(.noKeyConfigured, "no secret key configured: set EWSFLEET_SECRET_KEY or secret.keyFile")
        }
        return try await pool.withTransaction { conn in
            let rows = try await conn.query("""
                SELECT name, secret_ciphertext, secret_key_id FROM tenants
                 WHERE secret_ciphertext IS NOT NULL ORDER BY name FOR UPDATE
                """, name: "tenant.rotation_scan").rows
            var report = RotationReport(resealed: 0, current: 0)
            for row in rows {
                let name: String = try row.decode("name")
                let sealed = SecretKeyring.Sealed(ciphertext: try row.decode("secret_ciphertext"),
                                                  keyID: try row.decode("secret_key_id"))
                guard keyring.needsRotation(sealed) else {
                    report.current += 1
                    continue
                }
                let resealed = try keyring.seal(try keyring.open(sealed, tenant: name), tenant: name)
                try await conn.query("""
                    UPDATE tenants SET secret_ciphertext = $2::bytea, secret_key_id = $3, updated_at = now() WHERE name = $1
                    """, [PostgresValue(name), PostgresValue(resealed.ciphertext), PostgresValue(resealed.keyID)],
                    name: "tenant.reseal")
                report.resealed += 1
            }
            return report
        }
    }
}
