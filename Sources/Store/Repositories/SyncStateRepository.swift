/// What a folder's sync starts from (`folder_sync`): its SyncState, the filter its mirror was scoped
/// under, and whether a baseline was interrupted. Checkpoints write them (`CheckpointWriter`).
public struct SyncStateRepository: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// Stored SyncStates of a mailbox, by folder ('' when a folder was never synced or was reset).
    public func syncStates(mailboxID: Int64) async throws -> [String: String] {
        try await pool.withConnection { conn in
            var states: [String: String] = [:]
            for row in try await conn.query("SELECT folder_id, sync_state FROM folder_sync WHERE mailbox_id = $1",
                                            [PostgresValue(mailboxID)], name: "folder_sync.load") {
                states[try row.decode("folder_id")] = try row.decode("sync_state")
            }
            return states
        }
    }

    /// The filter the folder's mirror was last scoped under ('' = none, or a folder never synced).
    public func filterScope(mailboxID: Int64, folderID: String) async throws -> String {
        try await pool.withConnection { conn in
            try await conn.query("SELECT filter_scope FROM folder_sync WHERE mailbox_id = $1 AND folder_id = $2",
                                 [PostgresValue(mailboxID), PostgresValue(folderID)], name: "folder_sync.filter_scope")
                .rows.first?.decode("filter_scope", as: String.self) ?? ""
        }
    }

    /// Whether a baseline of the folder was interrupted before its last page (`folder_sync.baselining`).
    public func baselining(mailboxID: Int64, folderID: String) async throws -> Bool {
        try await pool.withConnection { conn in
            try await conn.query("SELECT baselining FROM folder_sync WHERE mailbox_id = $1 AND folder_id = $2",
                                 [PostgresValue(mailboxID), PostgresValue(folderID)], name: "folder_sync.baselining")
                .rows.first?.decode("baselining", as: Bool.self) ?? false
        }
    }

    /// Forgets a folder's SyncState (ErrorInvalidSyncStateData): the next sync starts from scratch.
    /// Fenced by the tenant's lease: a stale holder must not wipe the state the new holder synced to.
    public func resetSyncState(mailboxID: Int64, folderID: String, lease: LeaseToken) async throws {
        try await LeaseFence.write(lease, on: pool) { conn in
            try await conn.query("""
                UPDATE folder_sync f SET sync_state = '' FROM mailboxes m
                 WHERE f.mailbox_id = $1 AND f.folder_id = $2 AND m.id = f.mailbox_id AND m.tenant_id = $3
                """, [PostgresValue(mailboxID), PostgresValue(folderID), PostgresValue(lease.tenantID)],
                name: "folder_sync.reset")
        }
    }
}
