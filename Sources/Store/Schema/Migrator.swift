import Logging

/// Applies schema.sql's migrations that a database lacks, idempotently.
///
/// All pending migrations run in ONE transaction under a transaction-scoped advisory lock, so two
/// instances migrating at once serialise, and a failure leaves the database at its previous version.
/// An applied migration whose text changed since is refused (someone edited a shipped section).
public struct Migrator: Sendable {
    public struct Report: Sendable, Equatable {
        public var applied: [Int]
        public var current: Int
    }

    /// Arbitrary but fixed: the advisory-lock key that serialises migrators.
    static let lockKey = 0x6577_7366_6c74  // "ewsflt"
    let pool: PostgresPool
    let migrations: [Migration]

    public init(pool: PostgresPool, migrations: [Migration]) {
        self.pool = pool
        self.migrations = migrations
    }

    public init(pool: PostgresPool) throws(MigrationError) {
        self.init(pool: pool, migrations: try Migration.bundled)
    }

    public var latestVersion: Int { migrations.last?.version ?? 0 }

    @discardableResult
    public func migrate() async throws -> Report {
        let migrations = self.migrations
        return try await pool.withTransaction { conn in
            try await conn.query("SELECT pg_advisory_xact_lock($1)", [PostgresValue(Self.lockKey)], name: "migrate.lock")
            try await conn.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, name: "migrate.bootstrap")
            let applied = try await Self.applied(conn)
            try Self.verify(applied: applied, against: migrations)
            var done: [Int] = []
            for migration in migrations where applied[migration.version] == nil {
                do {
                    try await conn.execute(migration.sql, name: "migration \(migration.version) \(migration.name)")
                } catch var error as PostgresError {
                    error.queryName = "migration \(migration.version) \(migration.name)"
                    throw error
                }
                try await conn.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [PostgresValue(migration.version), PostgresValue(migration.name), PostgresValue(migration.checksum)],
                    name: "migrate.record")
                done.append(migration.version)
            }
            return Report(applied: done, current: max(applied.keys.max() ?? 0, done.last ?? 0))
        }
    }

    /// The version the database is at, or nil before the first migration.
    public func currentVersion() async throws -> Int? {
        try await pool.withConnection { conn in
            let exists = try await conn.query(
                "SELECT to_regclass('schema_migrations') IS NOT NULL AS present", name: "migrate.present")
            guard try exists.rows.first?.decode("present", as: Bool.self) == true else { return nil }
            return try await conn.query("SELECT max(version) AS v FROM schema_migrations", name: "migrate.version")
                .rows.first?.decode("v", as: Int?.self)
        }
    }

    /// Throws unless the database is exactly at this binary's schema version: the service refuses to
    /// run against an old schema (run `ewsfleet db migrate`) or a newer one (upgrade the binary).
    public func requireCurrent() async throws {
        let version = try await currentVersion()
        guard version == latestVersion else {
            throw MigrationError(version.map {
                $0 < latestVersion
                    ? "the database schema is at version \($0), this binary needs \(latestVersion): run `ewsfleet db migrate`"
                    : "the database schema is at version \($0), newer than this binary (\(latestVersion)): upgrade ewsfleet"
            } ?? "the database has no ewsfleet schema: run `ewsfleet db migrate`")
        }
    }

    static func applied(_ conn: PostgresConnection) async throws -> [Int: String] {
        var result: [Int: String] = [:]
        for row in try await conn.query("SELECT version, checksum FROM schema_migrations", name: "migrate.applied") {
            result[try row.decode("version", as: Int.self)] = try row.decode("checksum", as: String.self)
        }
        return result
    }

    static func verify(applied: [Int: String], against migrations: [Migration]) throws(MigrationError) {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, checksum) in applied.sorted(by: { $0.key < $1.key }) {
            guard let migration = known[version] else {
                throw MigrationError("the database has migration \(version), which this binary does not know: upgrade ewsfleet")
            }
            guard migration.checksum == checksum else {
                throw MigrationError("migration \(version) (\(migration.name)) was changed after it was applied; add a new migration instead")
            }
        }
    }
}
