/// Per-mailbox ignore lists: item ids every SyncFolderItems of the mailbox passes in `Ignore`.
extension MailboxRepository {
    /// The most ids a mailbox may ignore. The schema sets no limit, but every id travels in every
    /// SyncFolderItems of the mailbox (about 150 bytes of XML each): 1000 keep a request near
    /// 150 KB, far above a reply-all storm and far below any server's request limit.
    public static let ignoreLimit = 1000

    /// Adds `itemIDs` to the mailbox's ignore list; returns how many were new. Refuses the whole
    /// list when the mailbox would then ignore more than `ignoreLimit`.
    public func ignore(tenant: String, smtpAddress: String, itemIDs: [String]) async throws -> Int {
        guard !itemIDs.isEmpty, itemIDs.allSatisfy({ !$0.isEmpty }) else { throw StoreError(.invalidInput, "no item id given") }
        let mailbox = try await require(tenant: tenant, smtpAddress: smtpAddress)
        return try await pool.withTransaction { conn in
            // The mailbox row locked: two concurrent `ignore`s cannot pass the limit together.
            _ = try await conn.query("SELECT 1 FROM mailboxes WHERE id = $1 FOR UPDATE", [PostgresValue(mailbox.id)],
                                     name: "mailbox.ignore_lock")
            let added = try await conn.query("""
                INSERT INTO mailbox_ignores (mailbox_id, item_id) SELECT $1, unnest($2::text[])
                ON CONFLICT DO NOTHING
                """, [PostgresValue(mailbox.id), .array(itemIDs)], name: "mailbox.ignore").affectedRows
            let total = try await conn.query("SELECT count(*) AS n FROM mailbox_ignores WHERE mailbox_id = $1",
                                             [PostgresValue(mailbox.id)], name: "mailbox.ignore_count")
                .rows[0].decode("n", as: Int.self)
            guard total <= Self.ignoreLimit else {
                throw StoreError(.invalidInput, "mailbox \(mailbox.smtpAddress) would ignore \(total) items; the limit is \(Self.ignoreLimit)")
            }
            return added
        }
    }

    /// Removes `itemIDs` from the ignore list; returns how many were listed. Changes to them are
    /// recorded again from the mailbox's next sync (not those made while they were ignored).
    public func unignore(tenant: String, smtpAddress: String, itemIDs: [String]) async throws -> Int {
        let mailbox = try await require(tenant: tenant, smtpAddress: smtpAddress)
        return try await pool.withConnection { conn in
            try await conn.query("DELETE FROM mailbox_ignores WHERE mailbox_id = $1 AND item_id = ANY($2::text[])",
                                 [PostgresValue(mailbox.id), .array(itemIDs)], name: "mailbox.unignore").affectedRows
        }
    }

    /// The mailbox's ignore list, oldest first.
    public func ignored(mailboxID: Int64) async throws -> [String] {
        try await pool.withConnection { conn in
            try await conn.query("SELECT item_id FROM mailbox_ignores WHERE mailbox_id = $1 ORDER BY created_at, item_id",
                                 [PostgresValue(mailboxID)], name: "mailbox.ignored").rows.map { try $0.decode("item_id") }
        }
    }

    /// The mailbox, or a clear error naming what is unknown.
    public func require(tenant: String, smtpAddress: String) async throws -> Mailbox {
        guard let mailbox = try await find(tenant: tenant, smtpAddress: smtpAddress) else {
            guard try await TenantRepository(pool: pool).find(name: tenant) != nil else {
                throw StoreError(.notFound, "unknown tenant \(tenant)")
            }
            throw StoreError(.notFound, "unknown mailbox \(smtpAddress.lowercased()) in tenant \(tenant)")
        }
        return mailbox
    }
}
