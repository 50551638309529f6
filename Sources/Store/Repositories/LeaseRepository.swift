import Foundation

/// Tenant leases: all mailboxes of a tenant run on one instance. Taking over an expired lease bumps
/// the epoch; checkpoints check the epoch (see CheckpointWriter), so the old holder cannot commit.
public struct LeaseRepository: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// Takes the lease if it is free, expired, or already ours. Returns nil when another live
    /// instance holds it. Re-acquiring our own live lease keeps the epoch.
    public func acquire(tenantID: Int64, instanceID: String, ttl: Duration) async throws -> LeaseToken? {
        try await pool.withConnection { conn in
            let r = try await conn.query("""
                INSERT INTO tenant_leases (tenant_id, instance_id, epoch, expires_at)
                VALUES ($1, $2, 1, now() + $3::interval)
                ON CONFLICT (tenant_id) DO UPDATE SET
                    epoch = CASE WHEN tenant_leases.instance_id = EXCLUDED.instance_id
                                  AND tenant_leases.expires_at > now()
                                 THEN tenant_leases.epoch ELSE tenant_leases.epoch + 1 END,
                    acquired_at = CASE WHEN tenant_leases.instance_id = EXCLUDED.instance_id
                                        AND tenant_leases.expires_at > now()
                                       THEN tenant_leases.acquired_at ELSE now() END,
                    instance_id = EXCLUDED.instance_id, renewed_at = now(), expires_at = EXCLUDED.expires_at
                 WHERE tenant_leases.instance_id IS NULL OR tenant_leases.expires_at <= now()
                    OR tenant_leases.instance_id = EXCLUDED.instance_id
                RETURNING epoch
                """, [PostgresValue(tenantID), PostgresValue(instanceID), PostgresValue(Self.interval(ttl))],
                name: "lease.acquire")
            return try r.rows.first.map { LeaseToken(tenantID: tenantID, instanceID: instanceID, epoch: try $0.decode("epoch")) }
        }
    }

    /// Extends our lease; false means it was lost (taken over) and the tenant must stop now.
    public func renew(_ token: LeaseToken, ttl: Duration) async throws -> Bool {
        try await pool.withConnection { conn in
            try await conn.query("""
                UPDATE tenant_leases SET renewed_at = now(), expires_at = now() + $4::interval
                 WHERE tenant_id = $1 AND instance_id = $2 AND epoch = $3
                """, [PostgresValue(token.tenantID), PostgresValue(token.instanceID), PostgresValue(token.epoch),
                      PostgresValue(Self.interval(ttl))], name: "lease.renew").affectedRows == 1
        }
    }

    /// Gives the lease up at shutdown so another instance can take it at once.
    public func release(_ token: LeaseToken) async throws {
        try await pool.withConnection { conn in
            try await conn.query("""
                UPDATE tenant_leases SET instance_id = NULL, expires_at = now()
                 WHERE tenant_id = $1 AND instance_id = $2 AND epoch = $3
                """, [PostgresValue(token.tenantID), PostgresValue(token.instanceID), PostgresValue(token.epoch)],
                name: "lease.release")
        }
    }

    static func interval(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return "\(ms) milliseconds"
    }
}
