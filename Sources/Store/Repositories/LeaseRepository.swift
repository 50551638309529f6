import Foundation
import Support

/// Tenant leases: all mailboxes of a tenant run on one holder (one process run, see `LeaseHolder`).
/// Taking over an expired or released lease bumps the epoch; every lease-dependent write checks the
/// epoch (`LeaseFence`), so the old holder cannot change anything after a takeover.
public struct LeaseRepository: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// Takes the lease if it is free, expired, or already held by this very run (then the epoch
    /// stays). Returns nil while another holder's lease is live, even one with the same instance
    /// id: a second process started with a copied `instance.id` waits for expiry like any other
    /// instance instead of sharing the first one's epoch.
    public func acquire(tenantID: Int64, holder: LeaseHolder, ttl: Duration) async throws -> LeaseToken? {
        try await pool.withConnection { conn in
            let r = try await conn.query("""
                INSERT INTO tenant_leases (tenant_id, instance_id, holder_run, epoch, expires_at)
                VALUES ($1, $2, $3, 1, now() + $4::interval)
                ON CONFLICT (tenant_id) DO UPDATE SET
                    epoch = CASE WHEN tenant_leases.holder_run = EXCLUDED.holder_run
                                  AND tenant_leases.instance_id = EXCLUDED.instance_id
                                  AND tenant_leases.expires_at > now()
                                 THEN tenant_leases.epoch ELSE tenant_leases.epoch + 1 END,
                    acquired_at = CASE WHEN tenant_leases.holder_run = EXCLUDED.holder_run
                                        AND tenant_leases.instance_id = EXCLUDED.instance_id
                                        AND tenant_leases.expires_at > now()
                                       THEN tenant_leases.acquired_at ELSE now() END,
                    instance_id = EXCLUDED.instance_id, holder_run = EXCLUDED.holder_run,
                    renewed_at = now(), expires_at = EXCLUDED.expires_at
                 WHERE tenant_leases.instance_id IS NULL OR tenant_leases.expires_at <= now()
                    OR (tenant_leases.holder_run = EXCLUDED.holder_run AND tenant_leases.instance_id = EXCLUDED.instance_id)
                RETURNING epoch
                """, [PostgresValue(tenantID), PostgresValue(holder.instanceID), PostgresValue(holder.run),
                      PostgresValue(Self.interval(ttl))],
                name: "lease.acquire")
            return try r.rows.first.map { LeaseToken(tenantID: tenantID, holder: holder, epoch: try $0.decode("epoch")) }
        }
    }

    /// Takes the lease for a new run of `instanceID` (tools and benchmarks that hold one lease for
    /// their whole life). Each call is another run: it never gets back a lease it took before
    /// while that one is live; a long-lived holder keeps one `LeaseHolder` and uses the call above.
    public func acquire(tenantID: Int64, instanceID: String, ttl: Duration) async throws -> LeaseToken? {
        try await acquire(tenantID: tenantID, holder: .newRun(instanceID: instanceID), ttl: ttl)
    }

    /// Extends our lease; false means it was lost (taken over, or released) and the tenant must
    /// stop now. Only the run that holds the lease can renew it.
    public func renew(_ token: LeaseToken, ttl: Duration) async throws -> Bool {
        try await pool.withConnection { conn in
            try await conn.query("""
                UPDATE tenant_leases SET renewed_at = now(), expires_at = now() + $5::interval
                 WHERE tenant_id = $1 AND instance_id = $2 AND holder_run = $3 AND epoch = $4
                """, [PostgresValue(token.tenantID), PostgresValue(token.instanceID), PostgresValue(token.holder.run),
                      PostgresValue(token.epoch), PostgresValue(Self.interval(ttl))], name: "lease.renew").affectedRows == 1
        }
    }

    /// Stops running the tenant here, cleanly: its mailboxes are marked `idle` (nobody watches
    /// them until the next holder writes its own status) and the lease is given up so another
    /// instance can take it at once, in one transaction. Returns false, changing nothing, when the
    /// lease was no longer ours: the new holder's status rows are not ours to touch.
    @discardableResult
    public func release(_ token: LeaseToken) async throws -> Bool {
        try await pool.withTransaction { conn in
            // Updating the lease row first locks it: no takeover can slip in before the commit.
            let released = try await conn.query("""
                UPDATE tenant_leases SET instance_id = NULL, holder_run = NULL, expires_at = now()
                 WHERE tenant_id = $1 AND instance_id = $2 AND holder_run = $3 AND epoch = $4
                """, [PostgresValue(token.tenantID), PostgresValue(token.instanceID), PostgresValue(token.holder.run),
                      PostgresValue(token.epoch)], name: "lease.release").affectedRows == 1
            guard released else { return false }
            try await conn.query("""
                UPDATE mailbox_status s SET state = 'idle', state_since = now(), next_attempt_at = NULL, updated_at = now()
                  FROM mailboxes m
                 WHERE m.id = s.mailbox_id AND m.tenant_id = $1 AND s.state NOT IN ('idle', 'paused')
                """, [PostgresValue(token.tenantID)], name: "lease.release_idle")
            return true
        }
    }

    static func interval(_ d: Duration) -> String {
        "\(d.wholeMilliseconds) milliseconds"
    }
}
