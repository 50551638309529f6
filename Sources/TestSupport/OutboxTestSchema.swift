public import Store

/// The `changes` outbox table as schema.sql defines it (columns the follower relies on), plus a
/// NOTIFY trigger, for tests of the access layer that run without the real migrations.
public enum OutboxTestSchema {
    public static let sql = """
        CREATE TABLE changes (
            id bigserial PRIMARY KEY,
            txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
            tenant text NOT NULL,
            mailbox text NOT NULL,
            folder_id text NOT NULL,
            item_id text NOT NULL,
            change_key text NOT NULL DEFAULT '',
            kind text NOT NULL,
            is_read boolean,
            properties jsonb NOT NULL DEFAULT '{}',
            observed_at timestamptz NOT NULL,
            committed_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX changes_txid_id ON changes (txid, id);
        CREATE FUNCTION changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('ewsfleet_changes', '');
            RETURN NULL;
        END $$;
        CREATE TRIGGER changes_notify AFTER INSERT ON changes
            FOR EACH STATEMENT EXECUTE FUNCTION changes_notify();
        """

    public static func create(on pool: PostgresPool) async throws {
        try await pool.withConnection { try await $0.execute(sql, name: "create changes") }
    }

    /// Inserts one change row and returns its id.
    @discardableResult
    public static func insert(
        _ connection: PostgresConnection, item: String, tenant: String = "t1", mailbox: String = "a@example.com"
    ) async throws -> Int64 {
        let result = try await connection.query(
            """
            INSERT INTO changes (tenant, mailbox, folder_id, item_id, kind, observed_at)
            VALUES ($1, $2, 'inbox', $3, 'created', now()) RETURNING id
            """, [PostgresValue(tenant), PostgresValue(mailbox), PostgresValue(item)], name: "insert change")
        return try result.rows[0].decode("id")
    }
}
