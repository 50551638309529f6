public import Foundation

/// Reads of the mirror of the watched folders (`items`), which syncs from scratch and listings are
/// diffed against. Checkpoints write it (`CheckpointWriter`).
public struct MirrorRepository: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// The mirror of one folder (id → change key, read state), which a full resync diffs against.
    public func mirror(mailboxID: Int64, folderID: String) async throws -> [String: MirrorEntry] {
        try await pool.withConnection { conn in
            var entries: [String: MirrorEntry] = [:]
            for row in try await conn.query(
                "SELECT item_id, change_key, is_read FROM items WHERE mailbox_id = $1 AND folder_id = $2",
                [PostgresValue(mailboxID), PostgresValue(folderID)], name: "items.mirror") {
                entries[try row.decode("item_id")] = MirrorEntry(changeKey: try row.decode("change_key"),
                                                                 isRead: try row.decode("is_read"))
            }
            return entries
        }
    }

    /// The mirror's rows of some items of one folder (a search folder's rows are apart from those
    /// of the items' real folders).
    public func mirrorItems(mailboxID: Int64, folderID: String, itemIDs: [String]) async throws -> [String: MirrorItem] {
        try await pool.withConnection { conn in
            var items: [String: MirrorItem] = [:]
            for row in try await conn.query("""
                SELECT folder_id, item_id, change_key, is_read, subject, sender, received_at, size_bytes, has_attachments,
                       properties::text AS properties
                  FROM items WHERE mailbox_id = $1 AND folder_id = $2 AND item_id = ANY($3::text[])
                """, [PostgresValue(mailboxID), PostgresValue(folderID), .array(itemIDs)], name: "items.by_id") {
                let item = MirrorItem(
                    folderID: try row.decode("folder_id"), itemID: try row.decode("item_id"),
                    changeKey: try row.decode("change_key"), isRead: try row.decode("is_read"),
                    subject: try row.decode("subject"), sender: try row.decode("sender"),
                    receivedAt: try row.decode("received_at"), size: try row.decode("size_bytes"),
                    hasAttachments: try row.decode("has_attachments"),
                    details: ItemDetails(json: try row.decode("properties")))
                items[item.itemID] = item
            }
            return items
        }
    }

    public struct MirrorEntry: Sendable, Equatable {
        public var changeKey: String
        public var isRead: Bool?

        public init(changeKey: String, isRead: Bool?) {
            self.changeKey = changeKey
            self.isRead = isRead
        }
    }
}
