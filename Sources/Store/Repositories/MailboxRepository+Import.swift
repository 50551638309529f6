/// Bulk import: one multi-row INSERT per batch.
extension MailboxRepository {
    public struct ImportRow: Sendable, Equatable {
        /// The address is already normalised (`SMTPAddress.normalize`).
        public var key: ImportKey
        public var watch: WatchMode

        public init(tenant: String, smtpAddress: String, watch: WatchMode) {
            key = ImportKey(tenant: tenant, smtpAddress: smtpAddress)
            self.watch = watch
        }

        public var tenant: String { key.tenant }
        public var smtpAddress: String { key.smtpAddress }
    }

    /// Inserts `rows` in one statement; rows that already exist (or repeat within the batch) and
    /// rows of unknown tenants are skipped, not errors. Returns the (tenant, address) pairs inserted.
    /// One statement, so a batch is written whole or not at all.
    public func importBatch(_ rows: [ImportRow], start: StartMode = .backfill) async throws -> Set<ImportKey> {
        guard !rows.isEmpty else { return [] }
        var values: [String] = []
        var parameters: [PostgresValue] = []
        values.reserveCapacity(rows.count)
        parameters.reserveCapacity(rows.count * 4 + 1)
        parameters.append(PostgresValue(start.rawValue))
        for (index, row) in rows.enumerated() {
            let base = index * 4 + 1
            values.append("($\(base + 1), $\(base + 2), $\(base + 3)::boolean, $\(base + 4)::text[])")
            let (all, folders) = try Self.columns(for: row.watch)
            parameters += [PostgresValue(row.tenant), PostgresValue(row.smtpAddress), PostgresValue(all), .array(folders)]
        }
        let result = try await pool.withConnection { conn in
            try await conn.query("""
                INSERT INTO mailboxes (tenant_id, smtp_address, watch_all, folders, start_mode)
                SELECT t.id, v.smtp, v.watch_all, v.folders, $1
                  FROM (VALUES \(values.joined(separator: ", "))) AS v(tenant, smtp, watch_all, folders)
                  JOIN tenants t ON t.name = v.tenant
                ON CONFLICT (tenant_id, smtp_address) DO NOTHING
                RETURNING (SELECT name FROM tenants WHERE id = tenant_id) AS tenant, smtp_address
                """, parameters, name: "mailbox.import")
        }
        return Set(try result.rows.map { ImportKey(tenant: try $0.decode("tenant"), smtpAddress: try $0.decode("smtp_address")) })
    }

    public struct ImportKey: Sendable, Hashable {
        public var tenant: String
        public var smtpAddress: String

        public init(tenant: String, smtpAddress: String) {
            self.tenant = tenant
            self.smtpAddress = smtpAddress
        }
    }
}
