/// Named readers of the outbox and retention.
public struct ConsumerRepository: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// The consumer's saved position, registering it at the start of the outbox if new.
    public func position(of name: String) async throws -> OutboxPosition {
        try await StoreError.translating("consumer \(name)") {
            try await pool.withConnection { conn in
                let row = try await conn.query("""
                    INSERT INTO consumers (name) VALUES ($1)
                    ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
                    RETURNING position_txid::text AS txid, position_id
                    """, [PostgresValue(name)], name: "consumer.position").rows[0]
                return OutboxPosition(txid: try row.decode("txid"), id: try row.decode("position_id"))
            }
        }
    }

    /// Saves a position; never moves a consumer backwards.
    public func save(_ position: OutboxPosition, for name: String) async throws {
        try await pool.withConnection { conn in
            try await conn.query("""
                UPDATE consumers SET position_txid = $2::xid8, position_id = $3, updated_at = now()
                 WHERE name = $1 AND (position_txid, position_id) < ($2::xid8, $3)
                """, [PostgresValue(name), PostgresValue(position.txid), PostgresValue(position.id)],
                name: "consumer.save")
        }
    }

    /// Deletes outbox rows older than `retention` that every registered consumer has passed.
    /// Returns the number of rows deleted.
    public func prune(olderThan retention: Duration) async throws -> Int {
        try await pool.withConnection { conn in
            try await conn.query("""
                DELETE FROM changes c
                 WHERE c.committed_at < now() - $1::interval
                   AND NOT EXISTS (SELECT 1 FROM consumers k WHERE (k.position_txid, k.position_id) < (c.txid, c.id))
                """, [PostgresValue(LeaseRepository.interval(retention))], name: "changes.prune").affectedRows
        }
    }

    /// Removes the body preview (personal data, `--properties ...,body_preview`) from rows older
    /// than `retention`, keeping the rows. Unlike `prune` it does not wait for consumers: a
    /// retention of personal data is a promise about the data, and a consumer that stopped reading
    /// must not keep it alive. Returns the rows changed.
    public func stripBodyPreviews(olderThan retention: Duration) async throws -> Int {
        try await pool.withConnection { conn in
            try await conn.query("""
                UPDATE changes SET properties = properties - 'body_preview'
                 WHERE committed_at < now() - $1::interval AND properties ? 'body_preview'
                """, [PostgresValue(LeaseRepository.interval(retention))], name: "changes.strip_previews").affectedRows
        }
    }
}
