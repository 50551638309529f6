public import Store

/// The real schema (every migration of schema.sql) and a helper that inserts `changes` rows, for
/// tests of the outbox follower: they read the table, index and NOTIFY trigger the service uses.
public enum OutboxTestSchema {
    public static func create(on pool: PostgresPool) async throws {
        _ = try await Migrator(pool: pool).migrate()
    }

    /// Inserts one change row and returns its id.
    @discardableResult
    public static func insert(
        _ connection: PostgresConnection, item: String, tenant: String = "t1", mailbox: String = "a@example.com"
    ) async throws -> Int64 {
        let result = try await connection.query(
            """
            INSERT INTO changes (tenant, mailbox, mailbox_id, folder_id, item_id, kind, observed_at)
            VALUES ($1, $2, 1, 'inbox', $3, 'created', now()) RETURNING id
            """, [PostgresValue(tenant), PostgresValue(mailbox), PostgresValue(item)], name: "insert change")
        return try result.rows[0].decode("id")
    }
}
