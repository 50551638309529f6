import Store
import TestSupport
import Testing

@Suite(.requiresDatabase) struct MigratorTests {
    @Test func migrationIsIdempotent() async throws {
        try await TestDatabase.withFresh("migrate") { database in
            let pool = database.pool()
            let migrator = try Migrator(pool: pool)
            #expect(try await migrator.currentVersion() == nil)
            await #expect(throws: MigrationError.self) { try await migrator.requireCurrent() }
            let first = try await migrator.migrate()
            #expect(first.applied == Array(1...migrator.latestVersion))
            let second = try await migrator.migrate()
            #expect(second.applied.isEmpty)
            #expect(second.current == migrator.latestVersion)
            try await migrator.requireCurrent()
            await pool.shutdown()
        }
    }

    @Test func concurrentMigratorsSerialise() async throws {
        try await TestDatabase.withFresh("migrate2") { database in
            let pool = database.pool(size: 4)
            let reports = try await withThrowingTaskGroup(of: Migrator.Report.self) { group in
                for _ in 0..<3 { group.addTask { try await Migrator(pool: pool).migrate() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(reports.filter { !$0.applied.isEmpty }.count == 1)
            await pool.shutdown()
        }
    }

    @Test func aChangedAppliedMigrationIsRefusedAndAFailedOneLeavesNothing() async throws {
        try await TestDatabase.withFresh("migrate3") { database in
            let pool = database.pool()
            let v1 = [Migration(version: 1, name: "one", sql: "CREATE TABLE one (x int);")]
            try await Migrator(pool: pool, migrations: v1).migrate()
            let edited = [Migration(version: 1, name: "one", sql: "CREATE TABLE one (x bigint);")]
            await #expect(throws: MigrationError.self) { try await Migrator(pool: pool, migrations: edited).migrate() }
            let broken = v1 + [Migration(version: 2, name: "two", sql: "CREATE TABLE two (y int); SELECT no_such_fn();")]
            await #expect(throws: PostgresError.self) { try await Migrator(pool: pool, migrations: broken).migrate() }
            let two = try await pool.withConnection {
                try await $0.query("SELECT to_regclass('two') IS NULL AS v", name: "t").rows[0].decode("v", as: Bool.self)
            }
            #expect(two)  // the failed migration left no table behind
            #expect(try await Migrator(pool: pool, migrations: v1).currentVersion() == 1)
            await pool.shutdown()
        }
    }
}
