import Foundation
import Simulator
import Store
import TestSupport
import Testing
@testable import Fleet
import Support

/// `tenant update` reaches a running tenant (the one reload path: see `Supervisor.reloadIfChanged`).
/// Each test starts a fleet on settings the simulator refuses, sees the refusal, fixes the one setting
/// with an update and no restart, and then sees every mailbox stream and mail land exactly once
/// (the simulator's ground truth and ledger are the oracle). Without the reload each would wait
/// forever on the old client.
@Suite(.requiresDatabase) struct TenantReloadTests {
    static func oneTenant(_ c: inout SimConfiguration) {
        c.tenants = 1
        c.serversPerTenant = 1
    }

    func update(_ f: FleetFixture, secret: String? = nil, _ change: (inout TenantUpdate) -> Void) async throws {
        var u = TenantUpdate()
        change(&u)
        try await TenantRepository(pool: f.pool).update(name: f.tenants[0].name, u, secret: secret.map { Secret($0) },
                                                       keyring: f.keyring)
    }

    /// Every mailbox has failed at least once (ewsfleet's own status: readiness only).
    func waitUntilEveryMailboxFailed(_ f: FleetFixture) async throws {
        try await f.waitUntil("every mailbox failed") {
            try await f.count("SELECT count(*) AS n FROM mailbox_status WHERE consecutive_failures > 0") == f.allMailboxes.count
        }
    }

    /// New mail reaches the outbox of every mailbox, and the outbox agrees with the ground truth.
    func expectMailFlows(_ f: FleetFixture) async throws {
        try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
        var ids: [String] = []
        for m in f.allMailboxes { ids += try f.sim.world.deliver(mailbox: m, count: 1) }
        try await f.waitUntil("the new mail is committed") { try await f.changeCount(ids) == ids.count }
        try await f.waitUntil("converged") { try await f.allConverged() }
        let verdict = try await f.outboxVerdict()
        #expect(verdict.isClean, "\(verdict)")
    }

    @Test func aNewSecretReachesTheRunningTenant() async throws {
        try await FleetFixture.with("reload_secret", Self.oneTenant) { f in
            try await f.addAll()
            try await update(f, secret: "not-the-password") { _ in }
            let fleet = f.startSupervisor()
            try await f.waitUntil("the server refused the old secret") {
                f.sim.world.statsSnapshot().requests(tenant: f.tenants[0].name, operation: "Unauthorized") > 0
            }
            try await waitUntilEveryMailboxFailed(f)
            try await update(f, secret: f.tenants[0].password) { _ in }
            try await expectMailFlows(f)
            await fleet.stop()
        }
    }

    @Test func aNewURLReachesTheRunningTenantAndForgetsWhatTheOldOneLearnt() async throws {
        try await FleetFixture.with("reload_url", Self.oneTenant) { f in
            try await f.addAll()
            let right = f.tenants[0].ewsURL
            try await update(f) { $0.ewsURL = right.replacingOccurrences(of: "/EWS/Exchange.asmx", with: "/EWS/Nothing.asmx") }
            let fleet = f.startSupervisor()
            try await f.waitUntil("the wrong URL was tried") {
                f.sim.world.statsSnapshot().requests(tenant: f.tenants[0].name, operation: "NotFound") > 0
            }
            try await waitUntilEveryMailboxFailed(f)
            try await update(f) { $0.ewsURL = right }
            try await expectMailFlows(f)

            // The same server under another spelling of its URL still counts as another server:
            // every mailbox subscribes again and every folder syncs from scratch, diffed against the
            // mirror, so nothing is recorded twice (the verdict below).
            let subscribes = f.sim.world.statsSnapshot().count("Subscribe", status: 200)
            let before = try await f.count("SELECT count(*) AS n FROM changes")
            try await update(f) { $0.ewsURL = right.lowercased() }
            try await f.waitUntil("every mailbox subscribed again") {
                f.sim.world.statsSnapshot().count("Subscribe", status: 200) >= subscribes + f.allMailboxes.count
            }
            try await f.waitUntil("every inbox synced again from scratch") {
                try await f.count("""
                    SELECT count(*) AS n FROM folder_sync
                     WHERE folder_id = 'inbox' AND sync_state <> ''
                       AND last_full_sync_at > (SELECT updated_at FROM tenants WHERE name = $1)
                    """, [PostgresValue(f.tenants[0].name)]) == f.allMailboxes.count
            }
            #expect(try await f.count("SELECT count(*) AS n FROM changes") == before, "the resync found nothing new")
            try await expectMailFlows(f)
            await fleet.stop()
        }
    }

    /// A row changed behind the CLI's back (plain SQL) reaches the tenant the same way, and the
    /// reload itself forgets what the old URL learnt: the update did not.
    @Test func aURLChangedInSQLIsReloadedAndForgetsTheOldSubscriptions() async throws {
        try await FleetFixture.with("reload_url_sql", Self.oneTenant) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let subscribes = f.sim.world.statsSnapshot().count("Subscribe", status: 200)
            _ = try await f.pool.withConnection {
                try await $0.execute("UPDATE tenants SET ews_url = lower(ews_url), updated_at = now()", name: "test.url")
            }
            try await f.waitUntil("every mailbox subscribed again") {
                f.sim.world.statsSnapshot().count("Subscribe", status: 200) >= subscribes + f.allMailboxes.count
            }
            try await expectMailFlows(f)
            await fleet.stop()
        }
    }

    /// A reload that cannot build the new client (here a secret sealed under a key this instance
    /// does not have) leaves the tenant stopped, says so in every mailbox's status without the
    /// secret, retries paced, and recovers once the row is fixed.
    @Test func aReloadThatCannotStartSaysSoAndRecoversWhenTheRowIsFixed() async throws {
        try await FleetFixture.with("reload_bad_key", Self.oneTenant) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let password = f.tenants[0].password
            let stranger = SecretKeyring(current: SecretKey.generate().key)
            try await TenantRepository(pool: f.pool).update(name: f.tenants[0].name, TenantUpdate(), secret: Secret(password),
                                                           keyring: stranger)
            try await f.waitUntil("every mailbox says the tenant cannot restart") {
                try await f.count("""
                    SELECT count(*) AS n FROM mailbox_status
                     WHERE state = 'backing_off' AND last_error_code = 'tenant_reload' AND consecutive_failures >= 2
                    """) == f.allMailboxes.count
            }
            #expect(try await f.count("SELECT count(*) AS n FROM mailbox_status WHERE last_error_message LIKE '%' || $1 || '%'",
                                      [PostgresValue(password)]) == 0)
            try await update(f, secret: password) { _ in }
            try await expectMailFlows(f)
            await fleet.stop()
        }
    }

    /// A back-off the server advised holds for the restarted tenant's new client too. Without it,
    /// the chaos soak counted violations: a fresh budget syncs at once, into the advised window.
    @Test func anAdvisedBackOffHoldsAcrossTheRestart() async throws {
        try await FleetFixture.with("reload_backoff", { Self.oneTenant(&$0); $0.adviceGrace = .zero }) { f in
            try await f.addAll(impersonation: false)  // the advice then names the whole identity
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let tenant = f.tenants[0]
            var throttle = SimFault(.throttle, scope: .tenant(tenant.name))
            throttle.seconds = 3
            throttle.form = .message
            _ = try f.sim.world.injectFault(throttle)
            let ids = try f.sim.world.deliver(mailbox: tenant.mailboxes[0], count: 1)
            try await f.waitUntil("a sync was advised to back off") { (f.sim.world.statsSnapshot().faultEffects["throttle"] ?? 0) >= 1 }
            let opened = f.sim.world.statsSnapshot().streamsOpened
            try await update(f) { $0.requestRate = 30 }
            try await f.waitUntil("the restarted tenant streams again") { f.sim.world.statsSnapshot().streamsOpened > opened }
            try await f.waitUntil("the mail is committed after the back-off") { try await f.changeCount(ids) == 1 }
            let stats = f.sim.world.statsSnapshot()
            #expect(stats.violations("svc:\(tenant.name)") == 0, "\(stats.backoffViolations)")
            try await expectMailFlows(f)
            await fleet.stop()
        }
    }

    @Test func aNewAuthKindReachesTheRunningTenant() async throws {
        try await FleetFixture.with("reload_auth", { Self.oneTenant(&$0); $0.ntlmTenants = 1 }) { f in
            #expect(f.tenants[0].auth == "ntlm")
            try await f.addAll()  // as Basic, which an NTLM server refuses
            let fleet = f.startSupervisor()
            try await f.waitUntil("the server refused Basic") {
                f.sim.world.statsSnapshot().requests(tenant: f.tenants[0].name, operation: "Unauthorized") > 0
            }
            try await waitUntilEveryMailboxFailed(f)
            try await update(f) { $0.authKind = .ntlm }
            try await expectMailFlows(f)
            await fleet.stop()
        }
    }

    @Test func impersonationSwitchedOnReachesTheRunningTenant() async throws {
        try await FleetFixture.with("reload_imperson", Self.oneTenant) { f in
            // The service account may impersonate the mailboxes but not open them as a delegate.
            for m in f.allMailboxes { try f.sim.world.setAccess(mailbox: m, identity: "svc:\(f.tenants[0].name)", delegate: false) }
            try await f.addAll(impersonation: false)
            let fleet = f.startSupervisor()
            try await waitUntilEveryMailboxFailed(f)
            #expect(try await f.count("SELECT count(*) AS n FROM changes") == 0)
            try await update(f) { $0.impersonation = true }
            try await expectMailFlows(f)
            await fleet.stop()
        }
    }

    @Test func aNewCABundleReachesTheRunningTenant() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ewsf-reload-ca-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await FleetFixture.with("reload_ca", {
            Self.oneTenant(&$0)
            $0.tls = true
            $0.tlsCAPath = directory.appendingPathComponent("ca.pem").path
        }) { f in
            #expect(f.tenants[0].ewsURL.hasPrefix("https://"))
            try await f.addAll()  // the system's CAs, which do not know the simulator's
            let fleet = f.startSupervisor()
            try await waitUntilEveryMailboxFailed(f)
            #expect(f.sim.world.statsSnapshot().requests(tenant: f.tenants[0].name) == 0, "no request got past TLS")
            try await update(f) { $0.caBundle = f.sim.caFile }
            try await expectMailFlows(f)
            await fleet.stop()
        }
    }

    /// A throttling change restarts the tenant warm: new connections under the new policy, the
    /// same subscriptions (no Subscribe), nothing lost across the restart.
    @Test func aNewThrottlingPolicyReachesTheRunningTenantAndKeepsItsSubscriptions() async throws {
        try await FleetFixture.with("reload_throttle", Self.oneTenant) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams on one connection") {
                try await f.streamingCount() == f.allMailboxes.count && f.sim.world.statsSnapshot().openStreams == 1
            }
            let subscribes = f.sim.world.statsSnapshot().count("Subscribe", status: 200)
            try await update(f) { $0.subscriptionsPerConnection = 1 }
            // Mail delivered while the tenant restarts is caught by the warm start's sync.
            let during = try f.sim.world.deliver(mailbox: f.allMailboxes[0], count: 2)
            try await f.waitUntil("one connection per mailbox") { f.sim.world.statsSnapshot().openStreams == f.allMailboxes.count }
            try await f.waitUntil("the mail delivered during the restart is committed") { try await f.changeCount(during) == 2 }
            #expect(f.sim.world.statsSnapshot().count("Subscribe", status: 200) == subscribes, "subscriptions were kept")
            try await expectMailFlows(f)
            #expect(f.sim.world.statsSnapshot().count("Subscribe", status: 200) == subscribes)
            await fleet.stop()
        }
    }
}
