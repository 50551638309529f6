/// The complete result of one statement.
public struct PostgresResult: Sendable, Sequence {
    public var rows: [PostgresRow]
    /// Rows inserted/updated/deleted/selected as reported by the server (`PQcmdTuples`).
    public var affectedRows: Int
    public var columns: [String]
    /// The command tag, e.g. "INSERT 0 3" or "COMMIT".
    public var commandTag: String

    public init(rows: [PostgresRow], affectedRows: Int, columns: [String], commandTag: String = "") {
        self.rows = rows
        self.affectedRows = affectedRows
        self.columns = columns
        self.commandTag = commandTag
    }

    public func makeIterator() -> IndexingIterator<[PostgresRow]> { rows.makeIterator() }

    public var first: PostgresRow? { rows.first }
    public var isEmpty: Bool { rows.isEmpty }
    public var count: Int { rows.count }
}
