/// Fleet instances (`fleet_instances`): each process run's heartbeat, version and clean stop.
public struct InstanceRepository: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// Records a heartbeat of this process run. `staleAfter`: how long without a heartbeat before
    /// this instance's status rows read `stale`. Returns true when the row was last written by
    /// another run that is still alive: two processes run with the same `instance.id` (they share
    /// no lease, see `LeaseHolder`, but share this row and the status rows' `instance_id`).
    @discardableResult
    public func heartbeat(holder: LeaseHolder, hostname: String, pid: Int, version: String,
                          staleAfter: Duration = .seconds(90)) async throws -> Bool {
        let seconds = max(1, Int(staleAfter.components.seconds))
        return try await pool.withConnection { conn in
            try await conn.query("""
                WITH previous AS (
                    SELECT run_id IS DISTINCT FROM $6 AND run_id IS NOT NULL AND stopped_at IS NULL
                           AND heartbeat_at > now() - make_interval(secs => stale_after_seconds) AS other
                      FROM fleet_instances WHERE instance_id = $1)
                INSERT INTO fleet_instances (instance_id, hostname, pid, version, stale_after_seconds, run_id)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = now(), hostname = EXCLUDED.hostname,
                    pid = EXCLUDED.pid, version = EXCLUDED.version, stopped_at = NULL,
                    stale_after_seconds = EXCLUDED.stale_after_seconds, run_id = EXCLUDED.run_id
                RETURNING coalesce((SELECT other FROM previous), false) AS other
                """, [PostgresValue(holder.instanceID), PostgresValue(hostname), PostgresValue(pid), PostgresValue(version),
                      PostgresValue(seconds), PostgresValue(holder.run)],
                name: "instance.heartbeat").rows.first?.decode("other", as: Bool.self) ?? false
        }
    }

    /// A clean stop of this run. Another live run under the same instance id that wrote the last
    /// heartbeat keeps the row alive: its mailboxes must not read `stale` because this one stopped.
    public func markStopped(holder: LeaseHolder) async throws {
        try await pool.withConnection { conn in
            try await conn.query("""
                UPDATE fleet_instances SET stopped_at = now()
                 WHERE instance_id = $1 AND (run_id = $2 OR run_id IS NULL)
                """, [PostgresValue(holder.instanceID), PostgresValue(holder.run)], name: "instance.stopped")
        }
    }
}
