import Foundation
public import Logging
public import Store
public import Testing

/// Finds the PostgreSQL server for integration tests through environment variables (set by
/// scripts/test) and creates a fresh, uniquely named database per test.
///
/// - `EWSFLEET_TEST_DATABASE_URL`: admin URL of the server (any database on it);
/// - `EWSFLEET_TEST_REQUIRE_DB=1`: a missing or unreachable server FAILS the tests;
///   without it such tests are skipped with a message;
/// - `EWSFLEET_TEST_PG_RESTART`: shell command that restarts that server (restart tests only).
public struct TestDatabase: Sendable {
    public static var adminURL: String? { environment("EWSFLEET_TEST_DATABASE_URL") }
    public static var isRequired: Bool { environment("EWSFLEET_TEST_REQUIRE_DB") == "1" }
    public static var restartCommand: String? { environment("EWSFLEET_TEST_PG_RESTART") }

    /// Name of the database created for this test.
    public let name: String
    /// URL of that database.
    public let url: String

    /// Whether tests that need the database should run: always when required (they then fail
    /// if it is missing), otherwise only when the server answers.
    public static func shouldRun() async -> Bool {
        if isRequired { return true }
        guard let adminURL else { return false }
        return await reachability.check(adminURL)
    }

    /// Creates a fresh database, runs `body` with it, and drops it (also when `body` throws).
    public static func withFresh<T: Sendable>(
        _ label: String = "t", _ body: (TestDatabase) async throws -> T
    ) async throws -> T {
        let database = try await create(label)
        do {
            let value = try await body(database)
            try await database.drop()
            return value
        } catch {
            try? await database.drop()
            throw error
        }
    }

    public static func create(_ label: String = "t") async throws -> TestDatabase {
        guard let adminURL else {
            throw TestDatabaseError(
                "EWSFLEET_TEST_DATABASE_URL is not set but EWSFLEET_TEST_REQUIRE_DB=1 requires a database")
        }
        let safeLabel = String(label.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "_" }.prefix(20))
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let name = "ewsfleet_test_\(safeLabel)_\(suffix)"
        try await withAdminPool(adminURL) { pool in
            // Identifiers cannot be parameters; `name` is built from [a-z0-9_] only.
            _ = try await pool.withConnection { try await $0.execute("CREATE DATABASE \(name)", name: "create test db") }
        }
        return TestDatabase(name: name, url: try replacingDatabase(in: adminURL, with: name))
    }

    public func drop() async throws {
        guard let adminURL = Self.adminURL else { return }
        try await Self.withAdminPool(adminURL) { pool in
            _ = try await pool.withConnection {
                try await $0.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", name: "drop test db")
            }
        }
    }

    /// A pool on this database; shut it down at the end of the test.
    public func pool(size: Int = 4, logger: Logger = TestDatabase.logger) -> PostgresPool {
        PostgresPool(PostgresConfiguration(url: url, poolSize: size), logger: logger)
    }

    public static let logger: Logger = {
        var logger = Logger(label: "ewsfleet.test")
        logger.logLevel = environment("EWSFLEET_TEST_LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()

    /// Runs `EWSFLEET_TEST_PG_RESTART` and waits (without blocking a cooperative thread) for it
    /// to finish.
    public static func restartServer() async throws {
        guard let command = restartCommand else {
            throw TestDatabaseError("EWSFLEET_TEST_PG_RESTART is not set")
        }
        // `system` on a thread of its own: Foundation's Process did not reliably report the
        // exit of `su … pg_ctl restart` (its child, the server, lives on).
        let status: Int32 = await withCheckedContinuation { continuation in
            let thread = Thread {
                let raw = system("(\(command)) >/dev/null")
                continuation.resume(returning: raw == -1 ? -1 : (raw >> 8) & 0xff)
            }
            thread.start()
        }
        guard status == 0 else { throw TestDatabaseError("restart command exited with \(status)") }
    }

    // MARK: internals

    private static func withAdminPool(_ url: String, _ body: (PostgresPool) async throws -> Void) async throws {
        let pool = PostgresPool(PostgresConfiguration(url: url, poolSize: 1), logger: logger)
        do {
            try await body(pool)
            await pool.shutdown()
        } catch {
            await pool.shutdown()
            throw error
        }
    }

    static func replacingDatabase(in url: String, with name: String) throws -> String {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            guard var components = URLComponents(string: url) else {
                throw TestDatabaseError("cannot parse EWSFLEET_TEST_DATABASE_URL")
            }
            components.path = "/" + name
            guard let result = components.string else { throw TestDatabaseError("cannot build test URL") }
            return result
        }
        return url + " dbname=\(name)"  // key=value conninfo: the last keyword wins
    }

    private static func environment(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    private static let reachability = Reachability()
}

public struct TestDatabaseError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Probes the server once per process.
private actor Reachability {
    private var result: Bool?

    func check(_ url: String) async -> Bool {
        if let result { return result }
        let pool = PostgresPool(PostgresConfiguration(url: url, poolSize: 1), logger: TestDatabase.logger)
        let reachable = (try? await pool.withConnection { try await $0.query("SELECT 1", name: "probe") }) != nil
        await pool.shutdown()
        if !reachable {
            print("note: PostgreSQL at \(PostgresConfiguration(url: url).target) is unreachable; database tests are skipped")
        }
        result = reachable
        return reachable
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only when a test database is configured (or required, so that a missing one
    /// fails instead of skipping).
    public static var requiresDatabase: Self {
        .enabled("needs PostgreSQL: set EWSFLEET_TEST_DATABASE_URL (EWSFLEET_TEST_REQUIRE_DB=1 makes a missing one fail)") {
            await TestDatabase.shouldRun()
        }
    }

    /// Also needs `EWSFLEET_TEST_PG_RESTART`.
    public static var requiresRestartableDatabase: Self {
        .enabled("needs EWSFLEET_TEST_PG_RESTART to restart the test server") {
            if TestDatabase.isRequired { return true }
            guard TestDatabase.restartCommand != nil else { return false }
            return await TestDatabase.shouldRun()
        }
    }
}
