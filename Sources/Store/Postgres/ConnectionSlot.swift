import Logging
import Synchronization

/// One pool position: a dedicated worker thread and the (lazily opened, replaceable) libpq
/// connection that lives on it.
final class ConnectionSlot: Sendable {
    let id: Int
    let thread: WorkerThread
    /// Only used inside jobs on `thread`.
    let connection: LibPQConnection
    /// Set when a borrower's task was cancelled during a statement: the cancel request may
    /// reach the server late, so the connection must not be lent to anyone else afterwards.
    private let cancelRequested = Mutex(false)

    init(id: Int, info: ConnInfo, logger: Logger) {
        self.id = id
        self.thread = WorkerThread(name: "ewsfleet-pg-\(id)")
        self.connection = LibPQConnection(info: info, logger: logger)
    }

    var target: String { connection.target }

    /// Runs `body` with the connection on the slot's thread.
    func run<T: Sendable>(_ body: @escaping @Sendable (LibPQConnection) throws(PostgresError) -> T)
        async throws(PostgresError) -> T
    {
        let connection = self.connection
        return try await thread.run(target: connection.target) { () throws(PostgresError) -> T in
            try body(connection)
        }
    }

    /// Sends a cancel request for the running statement and marks the connection for disposal.
    func cancelRunningStatement() {
        cancelRequested.withLock { $0 = true }
        connection.requestCancel()
    }

    /// Whether a cancel was requested during the lease now ending (and clears the mark).
    func takeCancelRequested() -> Bool {
        cancelRequested.withLock { requested in
            defer { requested = false }
            return requested
        }
    }

    /// Closes the connection and ends the thread.
    func close() {
        let connection = self.connection
        thread.submit { connection.close() }
        thread.stop()
    }
}
