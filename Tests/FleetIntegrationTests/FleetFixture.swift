import Fleet
import Foundation
import HTTP
import Logging
import Simulator
import Store
import TestSupport
import Support

/// An in-process ews-sim, a fresh migrated database holding the simulator's tenants and mailboxes,
/// and supervisors started on demand (several can share the database, like several instances).
final class FleetFixture: @unchecked Sendable {  // set up once, then read-only from tests
    /// The official schemas the simulator checks requests against; nil in a clone without them.
    static var schemaDirectory: String? { EWSSchemaDirectory.path }

    let sim: SimulatorServer
    let baseURL: String
    let database: TestDatabase
    let pool: PostgresPool
    let http: HTTPClient
    let keyring = SecretKeyring(current: SecretKey.generate().key)
    var tenants: [SimWorld.TenantInfo] = []

    private init(sim: SimulatorServer, baseURL: String, database: TestDatabase) {
        self.sim = sim
        self.baseURL = baseURL
        self.database = database
        pool = database.pool(size: 8)
        var logger = Logger(label: "test.http")
        logger.logLevel = .critical
        http = HTTPClient(logger: logger)
    }

    /// Runs `body` against a simulated world whose tenants all speak `dialect`, with a fresh
    /// database named after `label` and the dialect (so the two runs of a test never share a name).
    static func with<T: Sendable>(
        _ label: String, dialect: SimDialect = .exchange, _ configure: (inout SimConfiguration) -> Void = { _ in },
        _ body: (FleetFixture) async throws -> T
    ) async throws -> T {
        var configuration = SimConfiguration()
        configuration.dialect = dialect
        configuration.tenants = 2
        configuration.mailboxesPerTenant = 3
        configuration.itemsPerMailbox = 5
        configuration.serversPerTenant = 2
        configuration.heartbeat = .seconds(1)
        configuration.schemaDirectory = schemaDirectory
        configure(&configuration)
        guard configuration.dialect == dialect else { throw FixtureError("set the dialect with `dialect:`, not in configure") }
        let sim = try SimulatorServer(configuration: configuration)
        let port = try await sim.start()
        return try await TestDatabase.withFresh(databaseLabel(label, dialect)) { database in
            let scheme = configuration.tls ? "https" : "http"
            let fixture = FleetFixture(sim: sim, baseURL: "\(scheme)://127.0.0.1:\(port)", database: database)
            do {
                try await Migrator(pool: fixture.pool).migrate()
                fixture.tenants = sim.world.tenantInfos(baseURL: fixture.baseURL)
                let result = try await body(fixture)
                await fixture.close()
                return result
            } catch {
                await fixture.close()
                throw error
            }
        }
    }

    /// The dialect first: TestDatabase keeps only the first 20 characters of a label.
    static func databaseLabel(_ label: String, _ dialect: SimDialect) -> String { "\(dialect.rawValue)_\(label)" }

    private func close() async {
        await http.shutdown()
        await pool.shutdown()
        try? await sim.shutdown()
    }

    /// Adds every simulator tenant (Basic auth, Autodiscover; plain http allowed, as the simulator
    /// serves it) and mailbox to the database.
    /// `mode` gives each tenant's sync mode (with `pollInterval` seconds); `mailboxMode` a
    /// mailbox's own, overriding it.
    func addAll(autodiscover: Bool = true, impersonation: Bool = true, hangingConnections: Int = 10,
                watch: (String) -> WatchMode = { _ in .default }, mode: (String) -> SyncMode = { _ in .notify },
                pollInterval: Int = 60, mailboxMode: (String) -> SyncMode? = { _ in nil },
                start: (String) -> StartMode = { _ in .backfill }) async throws {
        for t in tenants {
            try await TenantRepository(pool: pool).add(
                NewTenant(name: t.name, ewsURL: t.ewsURL, autodiscoverURL: autodiscover ? t.autodiscoverURL : nil,
                          authKind: .basic, identity: t.username, impersonation: impersonation,
                          throttling: ThrottlingPolicy(hangingConnections: hangingConnections), allowPlainHTTP: true,
                          syncMode: mode(t.name), pollIntervalSeconds: pollInterval),
                secret: Secret(t.password), keyring: keyring)
            for m in t.mailboxes {
                try await MailboxRepository(pool: pool).add(tenant: t.name, smtpAddress: m, watch: watch(m), syncMode: mailboxMode(m),
                                                            start: start(m))
            }
        }
    }

    /// Starts a supervisor (a fleet instance) in a task; `stop()` cancels it and waits.
    func startSupervisor(_ instance: String = "test-a", leaseTTL: Duration = .seconds(30),
                         coalescing: Duration = .zero, idleTimeout: Duration = .seconds(90),
                         blockedRetry: Duration = .seconds(3600), pollInterval: Duration = .seconds(60)) -> RunningSupervisor {
        var settings = FleetSettings(instanceID: instance)
        settings.pollInterval = pollInterval
        settings.streamIdleTimeout = idleTimeout
        settings.coalescingWindow = coalescing
        settings.leaseTTL = leaseTTL
        settings.backoffInitial = .milliseconds(200)
        settings.backoffMax = .seconds(2)
        settings.statusFlushInterval = .milliseconds(100)
        var logger = Logger(label: "test.fleet.\(instance)")
        logger.logLevel = ProcessInfo.processInfo.environment["EWSFLEET_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        let supervisor = Supervisor(
            dependencies: .init(pool: pool, http: http, keyring: keyring, clock: ContinuousClock(), logger: logger),
            settings: settings, blockedRetryInterval: blockedRetry)
        return RunningSupervisor(task: Task { try? await supervisor.run() }, supervisor: supervisor)
    }

    /// Waits until `condition` holds: explicit readiness on observable state (database rows,
    /// simulator counters), with a generous real-time limit so a broken build fails, not hangs.
    func waitUntil(_ what: String, limit: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw FixtureError("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func count(_ sql: String, _ params: [PostgresValue] = []) async throws -> Int {
        try await pool.withConnection { try await $0.query(sql, params, name: "test.count").rows[0].decode("n", as: Int.self) }
    }

    /// Whether the mirror of a mailbox's inbox equals the simulator's ground truth.
    func converged(_ mailbox: String) async throws -> Bool {
        let truth = Set(try sim.world.items(mailbox: mailbox, folder: "inbox").map { "\($0.itemId)|\($0.changeKey)|\($0.isRead)" })
        let mirror = try await pool.withConnection { conn in
            try await conn.query("""
                SELECT i.item_id, i.change_key, i.is_read FROM items i JOIN mailboxes m ON m.id = i.mailbox_id
                 WHERE m.smtp_address = $1 AND i.folder_id = 'inbox'
                """, [PostgresValue(mailbox)], name: "test.mirror").rows.map {
                "\(try $0.decode("item_id", as: String.self))|\(try $0.decode("change_key", as: String.self))|\(try $0.decode("is_read", as: Bool.self))"
            }
        }
        return truth == Set(mirror)
    }

    /// Whether the mirror of one folder (stored under `key`: a distinguished name or a folder id)
    /// equals the simulator's ground truth of the folder named `folder`.
    func converged(_ mailbox: String, folder: String, key: String) async throws -> Bool {
        let truth = Set(try sim.world.items(mailbox: mailbox, folder: folder).map { "\($0.itemId)|\($0.changeKey)|\($0.isRead)" })
        let mirror = try await pool.withConnection { conn in
            try await conn.query("""
                SELECT i.item_id, i.change_key, i.is_read FROM items i JOIN mailboxes m ON m.id = i.mailbox_id
                 WHERE m.smtp_address = $1 AND i.folder_id = $2
                """, [PostgresValue(mailbox), PostgresValue(key)], name: "test.mirror_folder").rows.map {
                "\(try $0.decode("item_id", as: String.self))|\(try $0.decode("change_key", as: String.self))|\(try $0.decode("is_read", as: Bool.self))"
            }
        }
        return truth == Set(mirror)
    }

    /// The outbox oracle's verdict (see `OutboxOracle`) over every mailbox, for the watched folders
    /// given as simulator folder name → `changes.folder_id`. Call it once traffic has stopped.
    /// `inScope` narrows the truth to the items a mailbox's filter should keep (judged by the test
    /// from ews-sim's ground truth, not by ewsfleet's filter): an item outside it must have no
    /// `created` row after its last `deleted`.
    func outboxVerdict(folders: [String: String] = ["inbox": "inbox"], baseline: Set<String> = [],
                       ignored: Set<String> = [], inScope: ((SimWorld.ItemSnapshot) -> Bool)? = nil) async throws
        -> OutboxOracle.Verdict
    {
        let names = Dictionary(uniqueKeysWithValues: folders.map { ($0.value, $0.key) })
        var verdict = OutboxOracle.Verdict()
        for mailbox in allMailboxes {
            let rows = try await pool.withConnection { conn in
                try await conn.query("""
                    SELECT c.folder_id, c.item_id, c.kind, c.is_read FROM changes c JOIN mailboxes m ON m.id = c.mailbox_id
                     WHERE m.smtp_address = $1 ORDER BY c.id
                    """, [PostgresValue(mailbox)], name: "test.outbox").rows.map {
                    OutboxOracle.Row(folder: names[try $0.decode("folder_id", as: String.self)] ?? "",
                                     itemID: try $0.decode("item_id"), kind: try $0.decode("kind"),
                                     isRead: try $0.decode("is_read", as: Bool?.self))
                }
            }
            var truth: [String: [SimWorld.ItemSnapshot]] = [:]
            for name in folders.keys { truth[name] = try sim.world.items(mailbox: mailbox, folder: name).filter { inScope?($0) ?? true } }
            verdict.merge(OutboxOracle.check(truth: truth, ledger: try sim.world.ledger(mailbox: mailbox),
                                             ledgerDropped: try sim.world.ledgerDropped(mailbox: mailbox), rows: rows,
                                             baseline: baseline, ignored: ignored))
        }
        return verdict
    }

    var allMailboxes: [String] { tenants.flatMap(\.mailboxes) }

    func allConverged() async throws -> Bool {
        for m in allMailboxes where try await !converged(m) { return false }
        return true
    }

    func changeCount(_ ids: [String]) async throws -> Int {
        try await count("SELECT count(*) AS n FROM changes WHERE item_id = ANY($1::text[])", [.array(ids)])
    }

    func streamingCount() async throws -> Int {
        try await count("SELECT count(*) AS n FROM mailbox_status WHERE state = 'streaming'")
    }
}

struct RunningSupervisor {
    let task: Task<Void, Never>
    let supervisor: Supervisor<ContinuousClock>

    func stop() async {
        task.cancel()
        await task.value
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
