/// `ewsfleet mailbox resync`.
extension MailboxRepository {
    /// Forgets every SyncState of the mailbox, so its next sync of each folder starts from scratch
    /// (the mirror stays and is reconciled against the full listing). Returns how many were dropped.
    public func resetSyncStates(tenant: String, smtpAddress: String) async throws -> Int {
        guard let mailbox = try await find(tenant: tenant, smtpAddress: smtpAddress) else {
            guard try await TenantRepository(pool: pool).find(name: tenant) != nil else {
                throw StoreError(.notFound, "unknown tenant \(tenant)")
            }
            throw StoreError(.notFound, "unknown mailbox \(smtpAddress) in tenant \(tenant)")
        }
        return try await pool.withTransaction { conn in
            let dropped = try await conn.query("DELETE FROM folder_sync WHERE mailbox_id = $1", [PostgresValue(mailbox.id)],
                                               name: "mailbox.resync").affectedRows
            // The stamp tells a running instance to resync now; touching the row wakes it through
            // the control trigger.
            try await conn.query("UPDATE mailboxes SET updated_at = now(), resync_requested_at = clock_timestamp() WHERE id = $1",
                                 [PostgresValue(mailbox.id)],
                                 name: "mailbox.resync_touch")
            return dropped
        }
    }
}
