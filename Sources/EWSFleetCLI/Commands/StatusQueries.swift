import Store

/// The SQL behind `ewsfleet status`; each view is one or a few read-only queries.
struct StatusQueries {
    let pool: PostgresPool

    private func section(_ title: String, _ sql: String, _ params: [PostgresValue] = []) async throws -> StatusSection {
        let result = try await pool.withConnection { try await $0.query(sql, params, name: "status.\(title)") }
        let columns = result.columns
        return StatusSection(title: title, table: TableOutput(columns: columns, rows: result.rows.map { row in columns.map { row[$0] } }))
    }

    func summary() async throws -> [StatusSection] {
        [
            try await section("instances", """
                SELECT instance_id, hostname, pid, version, started_at, heartbeat_at
                  FROM fleet_instances WHERE stopped_at IS NULL AND heartbeat_at > now() - interval '5 minutes' ORDER BY instance_id
                """),
            try await section("tenants", """
                SELECT tenant, tenant_state, sync_mode, mailboxes, streaming, polling, scheduled, syncing, subscribing, backing_off,
                       failed, paused, idle, stale, changes_last_hour, lease_instance
                  FROM tenant_summary ORDER BY tenant
                """),
            try await section("mailboxes_by_state", """
                SELECT CASE WHEN NOT m.enabled THEN 'paused' ELSE coalesce(s.state, 'idle') END AS state, count(*) AS mailboxes
                  FROM mailboxes m LEFT JOIN mailbox_status_now s ON s.mailbox_id = m.id GROUP BY 1 ORDER BY 1
                """),
            try await section("changes", """
                SELECT (SELECT count(*) FROM changes WHERE committed_at > now() - interval '1 minute') AS last_minute,
                       round((SELECT count(*) FROM changes WHERE committed_at > now() - interval '5 minutes') / 5.0, 1) AS per_minute_5m,
                       (SELECT count(*) FROM changes WHERE committed_at > now() - interval '1 hour') AS last_hour
                """),
            // Throttled: mailboxes backing off on an EWS throttling code; blocked: tenants EWS refuses (HTTP 403).
            // (The stored state, as the instance that throttled them said it.)
            try await section("throttled_or_blocked", """
                WITH throttled AS (
                    SELECT m.tenant_id, count(*) AS n FROM mailbox_status s JOIN mailboxes m ON m.id = s.mailbox_id
                     WHERE s.consecutive_failures > 0
                       AND s.last_error_code IN ('ErrorServerBusy', 'ErrorTooManyObjectsOpened', 'HTTP 429')
                     GROUP BY m.tenant_id)
                SELECT t.name AS tenant, t.identity AS identity, t.state AS tenant_state,
                       coalesce(th.n, 0) AS throttled_mailboxes, t.state_reason AS reason
                  FROM tenants t LEFT JOIN throttled th ON th.tenant_id = t.id
                 WHERE t.state = 'blocked' OR th.n > 0
                 ORDER BY t.name
                """),
        ]
    }

    func tenantDetail(_ name: String) async throws -> [StatusSection] {
        _ = try await TenantRepository(pool: pool).require(name: name)
        return [
            try await section("tenant", """
                SELECT tenant, tenant_state, sync_mode, grouping, mailboxes, streaming, polling, scheduled, syncing, subscribing,
                       backing_off, failed, paused, idle, stale, failing, changes_last_hour, lease_instance, lease_expires_at
                  FROM tenant_summary WHERE tenant = $1
                """, [PostgresValue(name)]),
            try await section("mailboxes", """
                SELECT m.smtp_address AS mailbox, CASE WHEN NOT m.enabled THEN 'paused' ELSE coalesce(s.state, 'idle') END AS state,
                       coalesce(m.sync_mode, t.sync_mode) AS mode,
                       s.state_since AS state_since, s.consecutive_failures AS failures, s.last_error_code AS last_error,
                       s.last_change_at AS last_change_at, s.next_attempt_at AS next_at, s.instance_id AS instance
                  FROM mailboxes m JOIN tenants t ON t.id = m.tenant_id LEFT JOIN mailbox_status_now s ON s.mailbox_id = m.id
                 WHERE t.name = $1 ORDER BY m.smtp_address
                """, [PostgresValue(name)]),
        ]
    }

    func lagging() async throws -> StatusSection {
        try await section("lagging", """
            SELECT tenant, mailbox, state, lag_seconds, oldest_sync_at, last_error_code, consecutive_failures, next_attempt_at
              FROM lagging_mailboxes ORDER BY lag_seconds DESC, tenant, mailbox
            """)
    }

    func errors() async throws -> StatusSection {
        try await section("errors", """
            SELECT t.name AS tenant, m.smtp_address AS mailbox, s.state AS state, s.consecutive_failures AS failures,
                   s.last_error_code AS code, s.last_error_message AS message, s.next_attempt_at AS next_attempt_at
              FROM mailbox_status_now s JOIN mailboxes m ON m.id = s.mailbox_id JOIN tenants t ON t.id = m.tenant_id
             WHERE s.consecutive_failures > 0 ORDER BY s.consecutive_failures DESC, t.name, m.smtp_address
            """)
    }
}
