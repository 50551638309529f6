import Foundation
import Store
import TestSupport

/// A migrated fresh database with helpers to run `ewsfleet` against it.
struct CLIFixture {
    let db: TestDatabase
    let key: String

    static func with<T: Sendable>(_ label: String, _ body: (CLIFixture) async throws -> T) async throws -> T {
        try await TestDatabase.withFresh(label) { db in
            let fixture = CLIFixture(db: db, key: SecretKey.generate().base64)
            let migrate = try fixture.run(["db", "migrate"])
            guard migrate.status == 0 else { throw FixtureError(message: "migrate failed: \(migrate.stderr)") }
            return try await body(fixture)
        }
    }

    struct FixtureError: Error { var message: String }

    func run(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil) throws -> CommandResult {
        var env = ["EWSFLEET_DATABASE_URL": db.url, "EWSFLEET_SECRET_KEY": key]
        for (k, v) in environment { env[k] = v }
        return try CommandRunner.run("ewsfleet", arguments, environment: env, stdin: stdin)
    }

    /// Adds a Basic-auth tenant. The fixtures' URLs (ews-sim, a closed port) are plain http://,
    /// which the tenant must allow: `allowPlainHTTP` passes `--allow-plain-http`.
    func addTenant(_ name: String, url: String = "http://127.0.0.1:1/EWS/Exchange.asmx", secret: String = "pw",
                   identity: String? = nil, allowPlainHTTP: Bool = true, environment: [String: String] = [:]) throws -> CommandResult {
        try run(["tenant", "add", name, "--ews-url", url, "--auth", "basic", "--identity", identity ?? "svc@\(name).example",
                 "--secret-stdin"] + (allowPlainHTTP ? ["--allow-plain-http"] : []), environment: environment, stdin: Data(secret.utf8))
    }

    /// Inserts outbox rows directly, one transaction each, for `mailbox` of `tenant`.
    func insertChanges(pool: PostgresPool, tenant: String, mailbox: String, count: Int, start: Int = 0) async throws {
        for i in start..<(start + count) {
            _ = try await pool.withConnection { conn in
                try await conn.query("""
                    INSERT INTO changes (tenant, mailbox, mailbox_id, folder_id, item_id, kind, is_read, properties, observed_at)
                    VALUES ($1, $2, 1, 'inbox', $3, 'created', false, jsonb_build_object('subject', $4::text), now())
                    """, [PostgresValue(tenant), PostgresValue(mailbox), PostgresValue("item-\(i)"), PostgresValue("subject \(i)")],
                    name: "test.insert_change")
            }
        }
    }

    /// Waits until the safe follower can see `count` rows: rows of a transaction are delivered
    /// only once every older transaction in the cluster (other tests, other databases) has ended.
    func waitUntilVisible(pool: PostgresPool, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try await OutboxFollower(pool: pool).fetch(after: .start, limit: count + 1).count < count {
            guard ContinuousClock.now < deadline else { throw FixtureError(message: "outbox rows never became visible") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
