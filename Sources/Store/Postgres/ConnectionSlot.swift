import Logging

/// One pool position: a dedicated worker thread and the (lazily opened, replaceable) libpq
/// connection that lives on it.
final class ConnectionSlot: Sendable {
    let id: Int
    let thread: WorkerThread
    /// Only used inside jobs on `thread`.
    let connection: LibPQConnection

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

    /// Closes the connection and ends the thread.
    func close() {
        let connection = self.connection
        thread.submit { connection.close() }
        thread.stop()
    }
}
