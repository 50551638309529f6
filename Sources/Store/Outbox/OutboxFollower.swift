import Logging

/// Reads the `changes` outbox in order without ever skipping a row.
///
/// Why not `WHERE id > $last`: a bigserial id is taken when a row is inserted, not when its
/// transaction commits. Transaction A can take id 10 and commit after B took id 11 and
/// committed; a reader that saw 11 and moved past it would never see 10.
///
/// Instead every row records its inserting transaction (`txid xid8 DEFAULT pg_current_xact_id()`)
/// and the reader returns only rows whose transaction id is below the `xmin` of its current
/// snapshot. Every transaction below xmin has finished, and no transaction that starts later
/// can get an id below it, so the set of rows below xmin never grows "behind" the reader.
/// Rows come in (txid, id) order and positions are (txid, id) pairs.
///
/// Consequence: a long-running transaction that has an xid (any writing transaction in the
/// whole cluster — xids are cluster-wide, so also one in another database — or a prepared
/// transaction) holds xmin back and DELAYS delivery of all later rows until it ends. It never
/// causes a row to be lost or reordered.
///
/// Correctness never depends on NOTIFY: the follower polls every `pollInterval`, and a NOTIFY on
/// `channel` (or a LISTEN reconnect) only wakes it earlier. After a database error it backs off
/// and re-queries from its last position, so it catches up after a reconnect.
public struct OutboxFollower: Sendable {
    public let pool: PostgresPool
    public let channel: String
    public let batchSize: Int
    public let pollInterval: Duration
    public let filter: OutboxFilter
    /// Test hook: called after every fetch with the number of rows it returned.
    var fetchObserver: (@Sendable (Int) -> Void)?

    public init(
        pool: PostgresPool, channel: String = "ewsfleet_changes", batchSize: Int = 500,
        pollInterval: Duration = .seconds(1), filter: OutboxFilter = .all
    ) {
        self.pool = pool
        self.channel = channel
        self.batchSize = max(1, batchSize)
        self.pollInterval = pollInterval
        self.filter = filter
    }

    static let sql = """
        SELECT * FROM changes
        WHERE (txid, id) > ($1::xid8, $2::bigint)
          AND txid < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
          AND ($3::text IS NULL OR tenant = $3::text)
          AND ($4::text IS NULL OR mailbox = $4::text)
        ORDER BY txid, id
        LIMIT $5::bigint
        """

    /// One batch of at most `limit` rows after `position` that can never be preceded by a
    /// later commit.
    public func fetch(after position: OutboxPosition, limit: Int) async throws -> [OutboxRecord] {
        let parameters: [PostgresValue] = [
            PostgresValue(position.txid), PostgresValue(position.id), PostgresValue(filter.tenant),
            PostgresValue(filter.mailbox), PostgresValue(max(1, limit)),
        ]
        let result = try await pool.withConnection { connection in
            try await connection.query(Self.sql, parameters, name: "outbox fetch")
        }
        fetchObserver?(result.rows.count)
        return try result.rows.map { row in
            OutboxRecord(
                position: OutboxPosition(txid: try row.decode("txid"), id: try row.decode("id")), row: row)
        }
    }

    /// Every row after `position`, endlessly, in (txid, id) order. Consumer-driven: it fetches
    /// the next batch only when the previous one has been consumed. Ends when the consuming task
    /// is cancelled; fails on a non-retryable error (e.g. pool shutdown).
    public func records(after position: OutboxPosition) -> AsyncThrowingStream<OutboxRecord, any Error> {
        let cursor = OutboxCursor(follower: self, position: position)
        return AsyncThrowingStream(unfolding: { try await cursor.next() })
    }
}
