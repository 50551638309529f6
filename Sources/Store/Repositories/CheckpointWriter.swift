import Foundation

/// Commits checkpoints (see `Checkpoint`). Bulk rows travel as text arrays through `unnest`, so a
/// 512-change page costs a handful of round trips, not one per row.
public struct CheckpointWriter: Sendable {
    public struct Result: Sendable, Equatable {
        /// Outbox rows actually inserted; a replayed page inserts 0.
        public var changesInserted: Int
    }

    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    @discardableResult
    public func commit(_ checkpoint: Checkpoint) async throws -> Result {
        try await pool.withTransaction { conn in
            try await Self.write(checkpoint, on: conn)
        }
    }

    /// The statements of one checkpoint, on a connection already inside a transaction.
    static func write(_ cp: Checkpoint, on conn: PostgresConnection) async throws -> Result {
        let mailboxID = PostgresValue(cp.mailboxID)
        try await LeaseFence.check(cp.lease, on: conn)
        try await FolderFence.check(cp, on: conn)
        if !cp.upserts.isEmpty {
            let u = cp.upserts
            try await conn.query("""
                INSERT INTO items (mailbox_id, folder_id, item_id, change_key, is_read, subject, sender,
                                   received_at, size_bytes, has_attachments, properties, updated_at)
                SELECT $1, f, i, ck, r::boolean, s, snd, ra::timestamptz, sz::bigint, ha::boolean, p::jsonb, now()
                  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                              $8::text[], $9::text[], $10::text[], $11::text[]) AS u(f, i, ck, r, s, snd, ra, sz, ha, p)
                ON CONFLICT (mailbox_id, folder_id, item_id) DO UPDATE SET
                    change_key = EXCLUDED.change_key,
                    is_read = coalesce(EXCLUDED.is_read, items.is_read),
                    subject = EXCLUDED.subject, sender = EXCLUDED.sender, received_at = EXCLUDED.received_at,
                    size_bytes = EXCLUDED.size_bytes, has_attachments = EXCLUDED.has_attachments,
                    properties = EXCLUDED.properties, updated_at = now()
                """,
                [mailboxID, .array(u.map(\.folderID)), .array(u.map(\.itemID)), .array(u.map(\.changeKey)),
                 .array(u.map { $0.isRead.map(String.init) }), .array(u.map(\.subject)), .array(u.map(\.sender)),
                 .array(u.map { $0.receivedAt.map(PostgresTimestamp.format) }),
                 .array(u.map { $0.size.map(String.init) }), .array(u.map { $0.hasAttachments.map(String.init) }),
                 .array(u.map(\.details.json))],
                name: "checkpoint.upsert_items")
        }
        if !cp.readFlags.isEmpty {
            let r = cp.readFlags
            try await conn.query("""
                UPDATE items SET is_read = u.r::boolean,
                       change_key = CASE WHEN u.ck <> '' THEN u.ck ELSE items.change_key END, updated_at = now()
                  FROM unnest($2::text[], $3::text[], $4::text[]) AS u(i, ck, r)
                 WHERE items.mailbox_id = $1 AND items.folder_id = $5 AND items.item_id = u.i
                """,
                [mailboxID, .array(r.map(\.itemID)), .array(r.map(\.changeKey)), .array(r.map { String($0.isRead) }),
                 PostgresValue(cp.folderID)],
                name: "checkpoint.read_flags")
        }
        // Only what leaves this folder's mirror is a `deleted` row: a delete replayed, or reported
        // for an item the mirror never had (created and gone between two syncs, or not
        // fetchable), records nothing.
        var removed: Set<String> = []
        if !cp.deletes.isEmpty {
            let gone = try await conn.query("""
                DELETE FROM items WHERE mailbox_id = $1 AND folder_id = $2 AND item_id = ANY($3::text[])
                RETURNING item_id
                """, [mailboxID, PostgresValue(cp.folderID), .array(cp.deletes)], name: "checkpoint.delete_items")
            removed = Set(try gone.rows.map { try $0.decode("item_id", as: String.self) })
        }
        let changes = cp.changes.filter { $0.kind != .deleted || removed.contains($0.itemID) }
        var inserted = 0
        if !changes.isEmpty {
            let c = changes
            // The key includes the sync step (schema.sql migration 5): a replayed page is a no-op
            // whether or not the server changed the ChangeKeys.
            let result = try await conn.query("""
                INSERT INTO changes (tenant, mailbox, mailbox_id, folder_id, item_id, change_key, kind, is_read,
                                     properties, observed_at, sync_step)
                SELECT $1, $2, $3, f, i, ck, k, r::boolean, p::jsonb, $4::timestamptz, $11
                  FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
                       WITH ORDINALITY AS u(f, i, ck, k, r, p, n)
                 ORDER BY n
                ON CONFLICT (mailbox_id, folder_id, item_id, kind, change_key, sync_step) DO NOTHING
                """,
                [PostgresValue(cp.tenant), PostgresValue(cp.mailbox), mailboxID, PostgresValue(cp.observedAt),
                 .array(c.map(\.folderID)), .array(c.map(\.itemID)), .array(c.map(\.changeKey)),
                 .array(c.map(\.kind.rawValue)), .array(c.map { $0.isRead.map(String.init) }),
                 .array(c.map { String(decoding: $0.properties, as: UTF8.self) }), PostgresValue(cp.syncStep)],
                name: "checkpoint.insert_changes")
            inserted = result.affectedRows
        }
        if !cp.keepsSyncState {
            try await conn.query("""
                INSERT INTO folder_sync (mailbox_id, folder_id, sync_state, last_sync_at, last_full_sync_at, baselining,
                                         filter_scope)
                VALUES ($1, $2, $3, now(), CASE WHEN $4::boolean THEN now() END, $5, $6)
                ON CONFLICT (mailbox_id, folder_id) DO UPDATE SET
                    sync_state = EXCLUDED.sync_state, last_sync_at = now(),
                    last_full_sync_at = coalesce(EXCLUDED.last_full_sync_at, folder_sync.last_full_sync_at),
                    baselining = EXCLUDED.baselining,
                    filter_scope = CASE WHEN $4::boolean THEN EXCLUDED.filter_scope ELSE folder_sync.filter_scope END
                """,
                [mailboxID, PostgresValue(cp.folderID), PostgresValue(cp.syncState), PostgresValue(cp.completesFullSync),
                 PostgresValue(cp.baselining), PostgresValue(cp.filterScope)],
                name: "checkpoint.sync_state")
        }
        if inserted > 0 {
            try await conn.query("UPDATE mailbox_status SET last_change_at = now() WHERE mailbox_id = $1",
                                 [mailboxID], name: "checkpoint.status")
        }
        return Result(changesInserted: inserted)
    }
}
