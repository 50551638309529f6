import Synchronization

/// A connection lent exclusively to one `withConnection` / `withTransaction` body.
///
/// Never share it with other tasks and never keep it after the body returns: it refuses work
/// once its lease has ended. Each call blocks only the connection's own thread.
public final class PostgresConnection: Sendable {
    private let slot: ConnectionSlot
    private let isLent = Mutex(true)

    init(slot: ConnectionSlot) { self.slot = slot }

    /// Runs one statement with `$1`, `$2`, … parameters (`PQexecParams`, text format).
    /// `name` identifies the query in errors and logs.
    @discardableResult
    public func query(_ sql: String, _ params: [PostgresValue] = [], name: String) async throws -> PostgresResult {
        try checkLease(name)
        let texts = params.map(\.text)
        return try await cancellable {
            try await slot.run { connection throws(PostgresError) in
                try connection.query(sql, texts, name: name)
            }
        }
    }

    /// Runs simple-protocol SQL text (`PQexec`) which may hold several statements, e.g. a
    /// migration. No parameters: never build this text from untrusted input.
    public func execute(_ sql: String, name: String) async throws {
        try checkLease(name)
        _ = try await cancellable {
            try await slot.run { connection throws(PostgresError) in
                try connection.execute(sql, name: name)
            }
        }
    }

    /// Cancelling the calling task while a statement runs sends the server a cancel request
    /// (best effort; the connection is then discarded rather than reused), and the resulting
    /// "canceling statement" error surfaces as `CancellationError`. A task that is already
    /// cancelled when the statement starts runs it normally, so cleanup (ROLLBACK, final
    /// writes) still works in cancelled tasks.
    private func cancellable<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        if Task.isCancelled { return try await body() }
        do {
            return try await withTaskCancellationHandler {
                try await body()
            } onCancel: {
                slot.cancelRunningStatement()
            }
        } catch let error as PostgresError where error.sqlState == "57014" && Task.isCancelled {
            throw CancellationError()
        }
    }

    /// "host:port/dbname" of the server.
    public var target: String { slot.target }

    func endLease() { isLent.withLock { $0 = false } }

    private func checkLease(_ name: String) throws {
        guard isLent.withLock({ $0 }) else {
            throw PostgresError(
                code: .misuse, message: "connection used after its lease ended", queryName: name, target: target)
        }
    }
}
