public import Foundation

/// The folders of a mailbox as ewsfleet knows them: which EWS folder id each synced folder has (so a
/// notification, which names folders by id, marks only its folder), and in all-folders mode the
/// SyncFolderHierarchy state and the folders it discovered. All of it lives in `folder_sync`.
public struct FolderRepository: Sendable {
    /// The `folder_sync.folder_id` holding the hierarchy SyncState of an all-folders mailbox. EWS
    /// folder ids are base64 and distinguished names lower-case words: `#` never collides with them,
    /// and keeping the state beside the item states means `mailbox resync` drops it as well.
    public static let hierarchyKey = "#hierarchy"

    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// One folder row (never the hierarchy row).
    public struct Folder: Sendable, Equatable {
        public var key: String
        public var ewsID: String?
        public var displayName: String?

        public init(key: String, ewsID: String?, displayName: String? = nil) {
            self.key = key
            self.ewsID = ewsID
            self.displayName = displayName
        }
    }

    /// Known EWS folder ids of every mailbox of a tenant: mailbox → EWS id → folder key. One query,
    /// so a warm restart of thousands of mailboxes asks EWS for none of them.
    public func folderIDs(tenantID: Int64) async throws -> [Int64: [String: String]] {
        try await pool.withConnection { conn in
            var result: [Int64: [String: String]] = [:]
            for row in try await conn.query("""
                SELECT f.mailbox_id, f.folder_id, f.ews_folder_id FROM folder_sync f
                  JOIN mailboxes m ON m.id = f.mailbox_id
                 WHERE m.tenant_id = $1 AND f.ews_folder_id IS NOT NULL AND f.folder_id <> $2
                """, [PostgresValue(tenantID), PostgresValue(Self.hierarchyKey)], name: "folders.ids") {
                result[try row.decode("mailbox_id"), default: [:]][try row.decode("ews_folder_id")] = try row.decode("folder_id")
            }
            return result
        }
    }

    /// Records EWS ids of folders (key → EWS id); a folder never synced gets its row now, with no
    /// SyncState, so its first sync still starts from scratch. Fenced by the tenant's lease.
    public func saveFolderIDs(mailboxID: Int64, _ ids: [String: String], lease: LeaseToken) async throws {
        guard !ids.isEmpty else { return }
        let pairs = ids.sorted { $0.key < $1.key }
        try await LeaseFence.write(lease, on: pool) { conn in
            try await conn.query("""
                INSERT INTO folder_sync (mailbox_id, folder_id, ews_folder_id)
                SELECT $1, k, e FROM unnest($2::text[], $3::text[]) AS u(k, e)
                 WHERE EXISTS (SELECT 1 FROM mailboxes WHERE id = $1 AND tenant_id = $4)
                ON CONFLICT (mailbox_id, folder_id) DO UPDATE SET ews_folder_id = EXCLUDED.ews_folder_id
                """, [PostgresValue(mailboxID), .array(pairs.map(\.key)), .array(pairs.map(\.value)),
                      PostgresValue(lease.tenantID)],
                name: "folders.save_ids")
        }
    }

    /// What a hierarchy sync starts from.
    public struct Hierarchy: Sendable, Equatable {
        /// nil: never synced (or reset), so the next hierarchy sync starts from scratch.
        public var syncState: String?
        public var folders: [Folder]
        /// Folders the items mirror holds items of (a from-scratch sync drops those not reported).
        public var mirroredFolders: Set<String>

        public init(syncState: String?, folders: [Folder], mirroredFolders: Set<String>) {
            self.syncState = syncState
            self.folders = folders
            self.mirroredFolders = mirroredFolders
        }
    }

    public func hierarchy(mailboxID: Int64) async throws -> Hierarchy {
        try await pool.withConnection { conn in
            var hierarchy = Hierarchy(syncState: nil, folders: [], mirroredFolders: [])
            for row in try await conn.query(
                "SELECT folder_id, ews_folder_id, display_name, sync_state FROM folder_sync WHERE mailbox_id = $1 ORDER BY folder_id",
                [PostgresValue(mailboxID)], name: "folders.hierarchy") {
                let key: String = try row.decode("folder_id")
                if key == Self.hierarchyKey {
                    let state: String = try row.decode("sync_state")
                    hierarchy.syncState = state.isEmpty ? nil : state
                } else {
                    hierarchy.folders.append(Folder(key: key, ewsID: try row.decode("ews_folder_id"),
                                                    displayName: try row.decode("display_name")))
                }
            }
            for row in try await conn.query("SELECT DISTINCT folder_id FROM items WHERE mailbox_id = $1",
                                            [PostgresValue(mailboxID)], name: "folders.mirrored") {
                hierarchy.mirroredFolders.insert(try row.decode("folder_id"))
            }
            return hierarchy
        }
    }

    /// The outcome of one hierarchy sync (or one vanished folder), committed in ONE transaction.
    public struct HierarchyCheckpoint: Sendable {
        public var lease: LeaseToken?
        public var tenant: String
        public var mailboxID: Int64
        public var mailbox: String
        /// nil leaves the stored hierarchy state as it is.
        public var syncState: String?
        /// Discovered (or renamed) folders.
        public var upserts: [Folder] = []
        /// Folders that are gone: their items leave the mirror, each with a `deleted` change row,
        /// and their folder row (with its SyncState) goes.
        public var drops: [String] = []
        public var observedAt: Date

        public init(lease: LeaseToken?, tenant: String, mailboxID: Int64, mailbox: String, syncState: String?,
                    observedAt: Date) {
            self.lease = lease
            self.tenant = tenant
            self.mailboxID = mailboxID
            self.mailbox = mailbox
            self.syncState = syncState
            self.observedAt = observedAt
        }
    }

    /// Commits a hierarchy checkpoint; returns the `deleted` change rows inserted.
    @discardableResult
    public func commit(_ cp: HierarchyCheckpoint) async throws -> Int {
        try await pool.withTransaction { conn in
            try await LeaseFence.check(cp.lease, on: conn)
            let mailboxID = PostgresValue(cp.mailboxID)
            var inserted = 0
            if !cp.drops.isEmpty {
                inserted = try await Self.drop(cp.drops, mailboxID: cp.mailboxID, tenant: cp.tenant, mailbox: cp.mailbox,
                                               observedAt: cp.observedAt, on: conn)
            }
            if !cp.upserts.isEmpty {
                let u = cp.upserts
                try await conn.query("""
                    INSERT INTO folder_sync (mailbox_id, folder_id, ews_folder_id, display_name)
                    SELECT $1, k, e, d FROM unnest($2::text[], $3::text[], $4::text[]) AS u(k, e, d)
                    ON CONFLICT (mailbox_id, folder_id) DO UPDATE SET
                        ews_folder_id = coalesce(EXCLUDED.ews_folder_id, folder_sync.ews_folder_id),
                        display_name = coalesce(EXCLUDED.display_name, folder_sync.display_name)
                    """, [mailboxID, .array(u.map(\.key)), .array(u.map(\.ewsID)), .array(u.map(\.displayName))],
                    name: "folders.upsert")
            }
            if let state = cp.syncState {
                try await conn.query("""
                    INSERT INTO folder_sync (mailbox_id, folder_id, sync_state, last_sync_at) VALUES ($1, $2, $3, now())
                    ON CONFLICT (mailbox_id, folder_id) DO UPDATE SET sync_state = EXCLUDED.sync_state, last_sync_at = now()
                    """, [mailboxID, PostgresValue(Self.hierarchyKey), PostgresValue(state)], name: "folders.hierarchy_state")
            }
            return inserted
        }
    }

    /// Folders leave the mirror: each item with a `deleted` row, then the folder rows with their
    /// SyncStates. Returns the rows inserted. Only what leaves the mirror becomes a `deleted` row,
    /// so a replayed drop records nothing; the step is fresh for the same reason (see SyncStep).
    static func drop(_ folders: [String], mailboxID: Int64, tenant: String, mailbox: String, observedAt: Date,
                     on conn: PostgresConnection) async throws -> Int {
        let id = PostgresValue(mailboxID)
        let inserted = try await conn.query("""
            WITH gone AS (DELETE FROM items WHERE mailbox_id = $1 AND folder_id = ANY($2::text[])
                          RETURNING folder_id, item_id)
            INSERT INTO changes (tenant, mailbox, mailbox_id, folder_id, item_id, change_key, kind, observed_at,
                                 sync_step)
            SELECT $3, $4, $1, folder_id, item_id, '', 'deleted', $5::timestamptz, $6 FROM gone
             ORDER BY folder_id, item_id
            ON CONFLICT (mailbox_id, folder_id, item_id, kind, change_key, sync_step) DO NOTHING
            """, [id, .array(folders), PostgresValue(tenant), PostgresValue(mailbox), PostgresValue(observedAt),
                  PostgresValue(SyncStep.fresh("drop"))],
            name: "folders.drop_items").affectedRows
        try await conn.query("DELETE FROM folder_sync WHERE mailbox_id = $1 AND folder_id = ANY($2::text[])",
                             [id, .array(folders)], name: "folders.drop")
        if inserted > 0 {
            try await conn.query("UPDATE mailbox_status SET last_change_at = now() WHERE mailbox_id = $1",
                                 [id], name: "folders.status")
        }
        return inserted
    }
}
