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

    /// Migration 5 swaps the outbox key. Existing rows stay as they are; an index built beforehand
    /// (README "Upgrading") is used, and one left invalid by a failed concurrent build is rebuilt.
    @Test(arguments: ["none", "prebuilt", "invalid"]) func theOutboxKeyMigrationKeepsRowsAndUsesAPrebuiltIndex(index: String) async throws {
        try await TestDatabase.withFresh("migrate_key_\(index)") { database in
            let pool = database.pool()
            let all = try Migration.bundled
            try await Migrator(pool: pool, migrations: all.filter { $0.version < 5 }).migrate()
            func run(_ sql: String) async throws {
                _ = try await pool.withConnection { try await $0.execute(sql, name: "t") }
            }
            func scalar(_ sql: String) async throws -> Int {
                try await pool.withConnection { try await $0.query(sql, name: "t").rows[0].decode("v", as: Int.self) }
            }
            // Old rows: unique under the old key, two of them differ only in the change key.
            try await run("""
                INSERT INTO changes (tenant, mailbox, mailbox_id, folder_id, item_id, change_key, kind, observed_at)
                VALUES ('t', 'm', 1, 'inbox', 'A', 'ck1', 'updated', now()), ('t', 'm', 1, 'inbox', 'A', 'ck2', 'updated', now()),
                       ('t', 'm', 1, 'inbox', 'B', '', 'deleted', now())
                """)
            if index != "none" {
                // What README "Upgrading" runs by hand, outside a transaction, while the old version runs.
                try await run("ALTER TABLE changes ADD COLUMN IF NOT EXISTS sync_step text NOT NULL DEFAULT ''")
                try await run("""
                    CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS changes_step_key
                        ON changes (mailbox_id, folder_id, item_id, kind, change_key, sync_step)
                    """)
            }
            if index == "invalid" {
                try await run("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'changes_step_key'::regclass")
            }
            let report = try await Migrator(pool: pool).migrate()
            #expect(report.applied.contains(5))
            #expect(try await scalar("SELECT count(*)::int AS v FROM changes WHERE sync_step = ''") == 3)
            #expect(try await scalar("""
                SELECT count(*)::int AS v FROM pg_index WHERE indexrelid = to_regclass('changes_step_key') AND indisvalid AND indisunique
                """) == 1)
            #expect(try await scalar("""
                SELECT count(*)::int AS v FROM pg_constraint WHERE conrelid = 'changes'::regclass AND contype = 'u'
                """) == 0)
            // The same item, kind and change key in another step is a new row; in the same step it is not.
            try await run("""
                INSERT INTO changes (tenant, mailbox, mailbox_id, folder_id, item_id, change_key, kind, observed_at, sync_step)
                VALUES ('t', 'm', 1, 'inbox', 'A', 'ck2', 'updated', now(), 's:1')
                ON CONFLICT (mailbox_id, folder_id, item_id, kind, change_key, sync_step) DO NOTHING
                """)
            try await run("""
                INSERT INTO changes (tenant, mailbox, mailbox_id, folder_id, item_id, change_key, kind, observed_at, sync_step)
                VALUES ('t', 'm', 1, 'inbox', 'A', 'ck2', 'updated', now(), 's:1')
                ON CONFLICT (mailbox_id, folder_id, item_id, kind, change_key, sync_step) DO NOTHING
                """)
            #expect(try await scalar("SELECT count(*)::int AS v FROM changes") == 4)
            await pool.shutdown()
        }
    }

    /// Migration 13 makes the mirror's key (mailbox, folder, item). Existing rows stay; an index
    /// built beforehand (README "Upgrading") becomes the key, and one left invalid is rebuilt.
    @Test(arguments: ["none", "prebuilt", "invalid"]) func theMirrorKeyMigrationKeepsRowsAndUsesAPrebuiltIndex(index: String) async throws {
        try await TestDatabase.withFresh("migrate_items_\(index)") { database in
            let pool = database.pool()
            try await Migrator(pool: pool, migrations: try Migration.bundled.filter { $0.version < 13 }).migrate()
            func run(_ sql: String) async throws {
                _ = try await pool.withConnection { try await $0.execute(sql, name: "t") }
            }
            func scalar(_ sql: String) async throws -> Int {
                try await pool.withConnection { try await $0.query(sql, name: "t").rows[0].decode("v", as: Int.self) }
            }
            try await run("""
                INSERT INTO tenants (name, ews_url, auth_kind, identity) VALUES ('t', 'https://ews.t.example/EWS/Exchange.asmx', 'basic', 'svc')
                """)
            try await run("INSERT INTO mailboxes (tenant_id, smtp_address) SELECT id, 'a@t.example' FROM tenants")
            try await run("""
                INSERT INTO items (mailbox_id, folder_id, item_id, change_key) SELECT id, 'inbox', 'A', 'ck1' FROM mailboxes
                """)
            if index != "none" {
                try await run("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_folder_key ON items (mailbox_id, folder_id, item_id)")
            }
            if index == "invalid" {
                try await run("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'items_folder_key'::regclass")
            }
            let report = try await Migrator(pool: pool).migrate()
            #expect(report.applied.first == 13)
            #expect(try await scalar("SELECT count(*)::int AS v FROM items") == 1)
            #expect(try await scalar("""
                SELECT count(*)::int AS v FROM pg_constraint c JOIN pg_index i ON i.indexrelid = c.conindid
                 WHERE c.conrelid = 'items'::regclass AND c.contype = 'p' AND i.indnatts = 3 AND i.indisvalid
                """) == 1)
            #expect(try await scalar("SELECT count(*)::int AS v FROM pg_indexes WHERE tablename = 'items'") == 1)
            // The same item in another folder is a second row; in the same folder it is not.
            try await run("""
                INSERT INTO items (mailbox_id, folder_id, item_id, change_key) SELECT id, 'search:Unread Mail', 'A', 'ck1' FROM mailboxes
                """)
            await #expect(throws: (any Error).self) {
                try await run("INSERT INTO items (mailbox_id, folder_id, item_id, change_key) SELECT id, 'inbox', 'A', 'ck2' FROM mailboxes")
            }
            #expect(try await scalar("SELECT count(*)::int AS v FROM items") == 2)
            await pool.shutdown()
        }
    }
}
