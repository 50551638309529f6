import Foundation

/// Watched mailboxes of a tenant.
public struct MailboxRepository: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let select = """
        SELECT m.id, m.tenant_id, t.name AS tenant, m.smtp_address, m.watch_all, m.folders, m.enabled, m.resync_requested_at,
               m.sync_mode, m.poll_interval_seconds, m.start_mode, m.filter
          FROM mailboxes m JOIN tenants t ON t.id = m.tenant_id
        """

    /// The columns `Mailbox(row:)` reads, for RETURNING clauses.
    static let returning = """
        id, tenant_id, smtp_address, watch_all, folders, enabled, resync_requested_at, sync_mode, poll_interval_seconds,
        start_mode, filter
        """

    @discardableResult
    public func add(tenant: String, smtpAddress: String, watch: WatchMode = .default, syncMode: SyncMode? = nil,
                    pollIntervalSeconds: Int? = nil, start: StartMode = .backfill,
                    filter: MailboxFilter? = nil) async throws -> Mailbox {
        guard let address = SMTPAddress.normalize(smtpAddress) else {
            throw StoreError(.invalidInput, "invalid email address \(smtpAddress)")
        }
        let (all, folders) = try Self.columns(for: watch)
        return try await StoreError.translating("mailbox \(address) in tenant \(tenant)") {
            try await pool.withConnection { conn in
                // All-folders mode needs impersonation: SubscribeToAllFolders cannot name a mailbox,
                // so with delegate access it would watch the service account's own.
                let r = try await conn.query("""
                    INSERT INTO mailboxes (tenant_id, smtp_address, watch_all, folders, sync_mode, poll_interval_seconds,
                                           start_mode, filter)
                    SELECT id, $2, $3, $4::text[], $5, $6::integer, $7, $8 FROM tenants WHERE name = $1 AND (impersonation OR NOT $3)
                    RETURNING \(Self.returning)
                    """,
                    [PostgresValue(tenant), PostgresValue(address), PostgresValue(all), .array(folders),
                     PostgresValue(syncMode?.rawValue), pollIntervalSeconds.map { PostgresValue($0) } ?? .null,
                     PostgresValue(start.rawValue), PostgresValue(filter?.description)],
                    name: "mailbox.add")
                guard let row = r.rows.first else {
                    let exists = try await conn.query("SELECT 1 FROM tenants WHERE name = $1", [PostgresValue(tenant)],
                                                      name: "mailbox.add_tenant").rows.count == 1
                    guard all, exists else {
                        throw StoreError(.notFound, "unknown tenant \(tenant)")
                    }
                    throw StoreError(.invalidInput, "tenant \(tenant) does not impersonate; all-folders mode needs impersonation "
                                     + "(SubscribeToAllFolders cannot name another mailbox): watch a list of folders instead")
                }
                return try Mailbox(row: row, tenantName: tenant)
            }
        }
    }

    public func list(tenant: String? = nil) async throws -> [Mailbox] {
        try await pool.withConnection { conn in
            try await conn.query("\(Self.select) WHERE ($1::text IS NULL OR t.name = $1) ORDER BY t.name, m.smtp_address",
                                 [PostgresValue(tenant)], name: "mailbox.list")
                .rows.map { try Mailbox(row: $0, tenantName: try $0.decode("tenant")) }
        }
    }

    public func find(tenant: String, smtpAddress: String) async throws -> Mailbox? {
        try await pool.withConnection { conn in
            try await conn.query("\(Self.select) WHERE t.name = $1 AND m.smtp_address = $2",
                                 [PostgresValue(tenant), PostgresValue(smtpAddress.lowercased())], name: "mailbox.find")
                .rows.first.map { try Mailbox(row: $0, tenantName: tenant) }
        }
    }

    /// Pause (false) or resume (true).
    public func setEnabled(tenant: String, smtpAddress: String, _ enabled: Bool) async throws {
        try await pool.withConnection { conn in
            let r = try await conn.query("""
                UPDATE mailboxes m SET enabled = $3, updated_at = now() FROM tenants t
                 WHERE t.id = m.tenant_id AND t.name = $1 AND m.smtp_address = $2
                """, [PostgresValue(tenant), PostgresValue(smtpAddress.lowercased()), PostgresValue(enabled)],
                name: "mailbox.set_enabled")
            guard r.affectedRows == 1 else { throw StoreError(.notFound, "unknown mailbox \(smtpAddress) in tenant \(tenant)") }
        }
    }

    /// Deletes the mailbox with its mirror, sync state, subscription and status (cascade). Its
    /// `changes` history stays unless `purge`.
    public func remove(tenant: String, smtpAddress: String, purge: Bool = false) async throws {
        try await pool.withTransaction { conn in
            let r = try await conn.query("""
                DELETE FROM mailboxes m USING tenants t
                 WHERE t.id = m.tenant_id AND t.name = $1 AND m.smtp_address = $2 RETURNING m.id
                """, [PostgresValue(tenant), PostgresValue(smtpAddress.lowercased())], name: "mailbox.remove")
            guard let id = try r.rows.first?.decode("id", as: Int64.self) else {
                throw StoreError(.notFound, "unknown mailbox \(smtpAddress) in tenant \(tenant)")
            }
            if purge {
                try await conn.query("DELETE FROM changes WHERE mailbox_id = $1", [PostgresValue(id)], name: "mailbox.purge")
            }
        }
    }

    static func columns(for watch: WatchMode) throws(StoreError) -> (Bool, [String?]) {
        switch watch {
        case .allFolders: return (true, [])
        case .folders(let folders):
            for folder in folders { try WatchMode.check(folder: folder) }
            return (false, folders)
        }
    }
}

extension Mailbox {
    init(row: PostgresRow, tenantName: String) throws {
        let folders = try PostgresArrayLiteral.decode(try row.decode("folders", as: String.self)).compactMap { $0 }
        let mode = try row.decode("sync_mode", as: String?.self)
        guard mode.map({ SyncMode(rawValue: $0) != nil }) ?? true,
              let start = StartMode(rawValue: try row.decode("start_mode"))
        else { throw StoreError(.invalidInput, "mailbox row has an unknown sync mode or start") }
        self.init(id: try row.decode("id"), tenantID: try row.decode("tenant_id"), tenantName: tenantName,
                  smtpAddress: try row.decode("smtp_address"),
                  watch: try row.decode("watch_all", as: Bool.self) ? .allFolders : .folders(folders),
                  enabled: try row.decode("enabled"), resyncRequestedAt: try row.decode("resync_requested_at"),
                  syncMode: mode.flatMap(SyncMode.init(rawValue:)),
                  pollIntervalSeconds: try row.decode("poll_interval_seconds"), start: start,
                  filter: try row.decode("filter", as: String?.self).map { try MailboxFilter(parsing: $0) })
    }
}
