import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// `ewsfleet run` and `ews-sim` as real processes: the service is SIGKILLed mid-sync (reached through
/// ews-sim's hold-page fault, not timing), restarted, and the mirror still converges with no duplicate
/// outbox rows. Leases follow the process run: after a SIGKILL the successor, even one started with
/// the same instance id, takes them only once they expired, at a new epoch; after a SIGTERM at once.
@Suite(.requiresDatabase) struct ProcessKillTests {
    @Test(.serialized, arguments: SimDialect.allCases) func killedMidSyncThenRestartedConvergesWithoutDuplicates(dialect: SimDialect) async throws {
        try await FleetProcesses.with("kill", dialect: dialect, leaseTTLSeconds: 6) { p in
            let (url, mailboxes) = (p.simURL, p.mailboxes)
            var fleet = try p.startFleet("kill-1")
            try await p.waitUntil("both mailboxes stream") {
                guard fleet.process.isRunning else { throw TestDatabaseError("ewsfleet run exited with \(fleet.process.terminationStatus)") }
                return try await p.count("SELECT count(*) AS n FROM mailbox_status WHERE state = 'streaming'") == mailboxes.count
            }
            // 600 new mails make a two-page sync (512 + 88); page 2 is held, so page 1 is committed
            // and the process is provably mid-sync when it is killed.
            _ = try await ControlAPI.post(url + "/_sim/faults", ["kind": "hold_sync_page", "mailbox": mailboxes[0], "page": 2])
            _ = try await ControlAPI.post(url + "/_sim/deliver", ["mailbox": mailboxes[0], "count": 600, "folder": "inbox"])
            try await p.waitUntil("page 2 is held") {
                ((try await ControlAPI.get(url + "/_sim/faults") as? [String: Any])?["held"] as? [Any])?.isEmpty == false
            }
            let midway = try await p.count("SELECT count(*) AS n FROM changes WHERE kind = 'created'")
            fleet.kill(signal: SIGKILL)
            let killed = try await p.lease()
            #expect(killed.instance == "kill-1" && killed.run != nil, "a SIGKILL releases nothing")
            _ = try await ControlAPI.post(url + "/_sim/faults/release", [:])
            _ = try await ControlAPI.delete(url + "/_sim/faults")

            // The successor has the same instance id, as a restarted service with a fixed
            // `instance.id` would: it is another run all the same, and waits for the lease to expire.
            fleet = try p.startFleet("kill-1")
            defer { fleet.kill() }
            try await p.waitUntil("every delivered item is committed") {
                try await p.count("SELECT count(*) AS n FROM changes WHERE kind = 'created'") >= midway + 88
            }
            let successor = try await p.lease()
            #expect(successor.instance == "kill-1" && successor.run != killed.run)
            #expect(successor.epoch == killed.epoch + 1, "the successor never shares the killed run's epoch")
            #expect(successor.acquiredAt >= killed.expiresAt, "taken over only once the killed run's lease expired")
            let truth = (try await ControlAPI.get(url + "/_sim/mailboxes/\(mailboxes[0])/items?folder=inbox") as? [String: Any])?["items"] as? [Any]
            try await p.waitUntil("the mirror converges") {
                try await p.count("SELECT count(*) AS n FROM items i JOIN mailboxes m ON m.id = i.mailbox_id WHERE m.smtp_address = '\(mailboxes[0])'")
                    == truth?.count
            }
            #expect(midway >= 512)  // page 1 had been committed before the kill
            let verdict = try await remoteOutboxVerdict(simURL: url, pool: p.pool, mailboxes: mailboxes)
            #expect(verdict.isClean, "\(verdict)")
        }
    }

    @Test func sigtermReleasesTheLeaseAtOnceForASuccessorWithTheSameInstanceID() async throws {
        // A long lease: a successor that had to wait for its expiry would take 30 s.
        try await FleetProcesses.with("term", dialect: .exchange, leaseTTLSeconds: 30) { p in
            var fleet = try p.startFleet("term-1")
            try await p.waitUntil("both mailboxes stream") {
                guard fleet.process.isRunning else { throw TestDatabaseError("ewsfleet run exited with \(fleet.process.terminationStatus)") }
                return try await p.count("SELECT count(*) AS n FROM mailbox_status WHERE state = 'streaming'") == p.mailboxes.count
            }
            fleet.kill(signal: SIGTERM)  // returns once the process exited
            #expect(fleet.process.terminationStatus == 0)
            let released = try await p.lease()
            #expect(released.instance == nil && released.run == nil, "SIGTERM released the lease")
            #expect(try await p.count("SELECT count(*) AS n FROM mailbox_status WHERE state = 'idle'") == p.mailboxes.count)
            #expect(try await p.count("SELECT count(*) AS n FROM fleet_instances WHERE stopped_at IS NOT NULL") == 1)

            fleet = try p.startFleet("term-1")
            defer { fleet.kill() }
            try await p.waitUntil("the successor streams") {
                try await p.count("SELECT count(*) AS n FROM mailbox_status WHERE state = 'streaming'") == p.mailboxes.count
            }
            let successor = try await p.lease()
            #expect(successor.instance == "term-1" && successor.epoch == released.epoch + 1)
            // Before the released lease would have expired had it only stopped being renewed.
            #expect(successor.acquiredAt < released.renewedAt.addingTimeInterval(30))
        }
    }
}

/// An ews-sim process (one tenant, two mailboxes) and a fresh database set up through the CLI, for
/// tests that run `ewsfleet run` as a process.
struct FleetProcesses {
    let simURL: String
    let mailboxes: [String]
    let environment: [String: String]
    let pool: PostgresPool

    static func with(_ label: String, dialect: SimDialect, leaseTTLSeconds: Int,
                     _ body: (FleetProcesses) async throws -> Void) async throws {
        try await TestDatabase.withFresh(FleetFixture.databaseLabel(label, dialect)) { db in
            let sim = try ChildProcess("ews-sim", ["--tenants", "1", "--mailboxes", "2", "--items-per-mailbox", "3",
                                                   "--heartbeat", "2", "--log-level", "error",
                                                   "--dialect", dialect.rawValue])
            defer { sim.kill() }
            let ready = try JSONSerialization.jsonObject(with: Data(try sim.readLine().utf8)) as? [String: Any]
            let url = try #require(ready?["url"] as? String)
            let tenant = try #require((try await ControlAPI.get(url + "/_sim/tenants") as? [[String: Any]])?.first)
            // Metrics on a free port: the other dialect's run (and any other ewsfleet on this
            // machine) may hold the default 9464, and `ewsfleet run` exits when it cannot bind.
            let env = ["EWSFLEET_DATABASE_URL": db.url, "EWSFLEET_SECRET_KEY": SecretKeyBase64.fresh,
                       "EWSFLEET_LOG_LEVEL": "error", "EWSFLEET_METRICS_PORT": "0",
                       "EWSFLEET_LEASE_TTL_SECONDS": String(leaseTTLSeconds), "PW": tenant["password"] as! String]
            #expect(try CommandRunner.run("ewsfleet", ["db", "migrate"], environment: env).status == 0)
            #expect(try CommandRunner.run("ewsfleet", ["tenant", "add", tenant["name"] as! String, "--ews-url",
                                                       tenant["ews_url"] as! String, "--auth", "basic", "--identity",
                                                       tenant["username"] as! String, "--secret-env", "PW",
                                                       "--allow-plain-http"],
                                          environment: env).status == 0)
            let mailboxes = tenant["mailboxes"] as! [String]
            for m in mailboxes {
                #expect(try CommandRunner.run("ewsfleet", ["mailbox", "add", tenant["name"] as! String, m], environment: env).status == 0)
            }
            let pool = db.pool()
            do {
                try await body(FleetProcesses(simURL: url, mailboxes: mailboxes, environment: env, pool: pool))
                await pool.shutdown()
            } catch {
                await pool.shutdown()
                throw error
            }
        }
    }

    func startFleet(_ instanceID: String) throws -> ChildProcess {
        try ChildProcess("ewsfleet", ["run", "--instance-id", instanceID, "--coalescing-window-ms", "0"], environment: environment)
    }

    func count(_ sql: String) async throws -> Int {
        try await pool.withConnection { try await $0.query(sql, name: "t").rows[0].decode("n", as: Int.self) }
    }

    func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw TestDatabaseError("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The tenant's lease row.
    struct Lease {
        var instance: String?
        var run: String?
        var epoch: Int64
        var acquiredAt: Date
        var renewedAt: Date
        var expiresAt: Date
    }

    func lease() async throws -> Lease {
        let row = try await pool.withConnection {
            try await $0.query("SELECT instance_id, holder_run, epoch, acquired_at, renewed_at, expires_at FROM tenant_leases",
                               name: "t").rows[0]
        }
        return Lease(instance: try row.decode("instance_id"), run: try row.decode("holder_run"), epoch: try row.decode("epoch"),
                     acquiredAt: try row.decode("acquired_at"), renewedAt: try row.decode("renewed_at"),
                     expiresAt: try row.decode("expires_at"))
    }
}

/// The outbox oracle (see `OutboxOracle`) for an ews-sim run as a process: truth and ledger come
/// from its control API, the rows from `changes`. Watches the inbox.
func remoteOutboxVerdict(simURL: String, pool: PostgresPool, mailboxes: [String]) async throws -> OutboxOracle.Verdict {
    var verdict = OutboxOracle.Verdict()
    for mailbox in mailboxes {
        let items = try #require((try await ControlAPI.get(simURL + "/_sim/mailboxes/\(mailbox)/items?folder=inbox")
            as? [String: Any])?["items"] as? [Any])
        let truth = try JSONDecoder().decode([SimWorld.ItemSnapshot].self, from: JSONSerialization.data(withJSONObject: items))
        let ledger = try #require(try await ControlAPI.get(simURL + "/_sim/ledger?mailbox=\(mailbox)") as? [String: Any])
        let raw = try #require(ledger["entries"] as? [[String: Any]], "no ledger in \(ledger)")
        let entries = raw.compactMap { LedgerEntry(controlJSON: $0) }
        #expect(entries.count == raw.count, "every ledger entry reads back")
        let rows = try await pool.withConnection { conn in
            try await conn.query("""
                SELECT c.folder_id, c.item_id, c.kind, c.is_read FROM changes c JOIN mailboxes m ON m.id = c.mailbox_id
                 WHERE m.smtp_address = $1 ORDER BY c.id
                """, [PostgresValue(mailbox)], name: "test.outbox").rows.map {
                OutboxOracle.Row(folder: try $0.decode("folder_id"), itemID: try $0.decode("item_id"),
                                 kind: try $0.decode("kind"), isRead: try $0.decode("is_read", as: Bool?.self))
            }
        }
        verdict.merge(OutboxOracle.check(truth: ["inbox": truth], ledger: entries,
                                         ledgerDropped: ledger["dropped"] as? Int ?? 0, rows: rows))
    }
    return verdict
}

/// A child process of this package's products whose stdout can be read line by line.
final class ChildProcess: @unchecked Sendable {  // used from one test task at a time
    let process = SpawnedProcess()
    private let output = Pipe()
    private var buffer = Data()

    init(_ product: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = CommandRunner.productsDirectory.appendingPathComponent(product)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// The next line the child writes to stdout (its readiness line).
    func readLine() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw TestDatabaseError("\(process.executableURL!.lastPathComponent) exited before it was ready") }
            buffer.append(chunk)
        }
    }

    func kill(signal: Int32 = SIGTERM) {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }
}

enum ControlAPI {
    static func get(_ url: String) async throws -> Any { try await send(url, method: "GET", body: nil) }
    static func post(_ url: String, _ body: [String: Any]) async throws -> Any { try await send(url, method: "POST", body: body) }
    static func delete(_ url: String) async throws -> Any { try await send(url, method: "DELETE", body: nil) }

    static func send(_ url: String, method: String, body: [String: Any]?) async throws -> Any {
        let result = try CommandRunner.runTool("/usr/bin/curl", ["-sS", "-X", method, "-H", "Content-Type: application/json"]
            + (body.map { ["--data", String(decoding: try! JSONSerialization.data(withJSONObject: $0), as: UTF8.self)] } ?? []) + [url])
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8), options: [.fragmentsAllowed])
    }
}

enum SecretKeyBase64 {
    static var fresh: String { Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() }
}
