import Foundation
import Simulator
import Store
import Support
import TestSupport
import Testing
@testable import Fleet

@Suite(.requiresDatabase) struct SupervisorTests {
    @Test(.serialized, arguments: SimDialect.allCases) func aWarmRestartReusesPersistedSubscriptions(dialect: SimDialect) async throws {
        try await FleetFixture.with("warm", dialect: dialect) { f in
            try await f.addAll()
            let first = f.startSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            try await f.waitUntil("subscriptions persisted") {
                try await f.count("SELECT count(*) AS n FROM subscriptions") == f.allMailboxes.count
            }
            await first.stop()
            let subscribes = f.sim.world.statsSnapshot().count("Subscribe", status: 200)
            let ids = try f.sim.world.deliver(mailbox: f.tenants[0].mailboxes[0], count: 1)  // while down
            let second = f.startSupervisor()
            try await f.waitUntil("mail from the downtime is committed") {
                try await f.count("SELECT count(*) AS n FROM changes WHERE item_id = $1", [PostgresValue(ids[0])]) == 1
            }
            #expect(f.sim.world.statsSnapshot().count("Subscribe", status: 200) == subscribes)  // no resubscribe storm
            await second.stop()
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func mailboxesAddedOrPausedWhileRunningAreTakenUp(dialect: SimDialect) async throws {
        try await FleetFixture.with("control", dialect: dialect) { f in
            try await f.addAll()
            let all = f.allMailboxes
            let extra = all.last!
            try await MailboxRepository(pool: f.pool).remove(tenant: f.tenants.last!.name, smtpAddress: extra)
            let fleet = f.startSupervisor()
            try await f.waitUntil("the others stream") { try await f.streamingCount() == all.count - 1 }
            try await MailboxRepository(pool: f.pool).add(tenant: f.tenants.last!.name, smtpAddress: extra)
            try await f.waitUntil("the added mailbox streams") { try await f.streamingCount() == all.count }
            try await MailboxRepository(pool: f.pool).setEnabled(tenant: f.tenants[0].name, smtpAddress: all[0], false)
            try await f.waitUntil("the paused mailbox says so") {
                try await f.count("SELECT count(*) AS n FROM mailbox_status s JOIN mailboxes m ON m.id = s.mailbox_id WHERE m.smtp_address = $1 AND s.state = 'paused'",
                                  [PostgresValue(all[0])]) == 1
            }
            await fleet.stop()
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func twoInstancesShareTenantsAndTheSurvivorTakesOver(dialect: SimDialect) async throws {
        try await FleetFixture.with("twoinst", dialect: dialect) { f in
            try await f.addAll()
            // A TTL well above a reconcile pass on a loaded CI machine (renewals come every third
            // of it): b must find every lease held. The takeover below does not wait for the TTL.
            let a = f.startSupervisor("inst-a", leaseTTL: .seconds(10))
            try await f.waitUntil("instance a holds every lease") {
                try await f.count("SELECT count(*) AS n FROM tenant_leases WHERE instance_id = 'inst-a'") == f.tenants.count
            }
            let b = f.startSupervisor("inst-b", leaseTTL: .seconds(10))
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            #expect(try await f.count("SELECT count(*) AS n FROM tenant_leases WHERE instance_id = 'inst-b'") == 0)
            // Kill a without releasing its leases (as a crash would): its leases expire, b takes over.
            a.task.cancel()
            await a.task.value
            try await f.pool.withConnection {
                try await $0.query("UPDATE tenant_leases SET instance_id = 'inst-a', expires_at = now() + interval '2 seconds'", name: "crash")
            }
            try await f.waitUntil("instance b took every tenant over") {
                try await f.count("SELECT count(*) AS n FROM tenant_leases WHERE instance_id = 'inst-b'") == f.tenants.count
            }
            let epochs = try await f.count("SELECT min(epoch) AS n FROM tenant_leases")
            #expect(epochs >= 2)
            let ids = try f.sim.world.deliver(mailbox: f.tenants[1].mailboxes[0], count: 1)
            try await f.waitUntil("b commits new mail") {
                try await f.count("SELECT count(*) AS n FROM changes WHERE item_id = $1", [PostgresValue(ids[0])]) == 1
            }
            await b.stop()
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func aResyncRequestedWhileRunningResyncsAtOnceAndEmitsNothingTwice(dialect: SimDialect) async throws {
        try await FleetFixture.with("resync", dialect: dialect) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            let tenant = f.tenants[0], mailbox = f.tenants[0].mailboxes[0]
            try await f.waitUntil("converged") {
                guard try await f.streamingCount() == f.allMailboxes.count else { return false }
                return try await f.converged(mailbox)
            }
            let before = try await f.count("SELECT count(*) AS n FROM changes WHERE mailbox = $1", [PostgresValue(mailbox)])
            // What `ewsfleet mailbox resync` does; no notification follows it.
            let dropped = try await MailboxRepository(pool: f.pool).resetSyncStates(tenant: tenant.name, smtpAddress: mailbox)
            #expect(dropped >= 1)
            try await f.waitUntil("the mailbox was resynced from scratch without a notification") {
                try await f.count("""
                    SELECT count(*) AS n FROM folder_sync s JOIN mailboxes m ON m.id = s.mailbox_id
                     WHERE m.smtp_address = $1 AND s.last_full_sync_at IS NOT NULL
                    """, [PostgresValue(mailbox)]) >= 1
            }
            #expect(try await f.converged(mailbox))
            #expect(try await f.count("SELECT count(*) AS n FROM changes WHERE mailbox = $1", [PostgresValue(mailbox)]) == before,
                    "the resync diffed against the mirror: nothing had changed")
            await fleet.stop()
        }
    }

    /// Lease rows by tenant: (holder run, epoch).
    static func leases(_ f: FleetFixture) async throws -> [Int64: LeaseRow] {
        var rows: [Int64: LeaseRow] = [:]
        for row in try await f.pool.withConnection({
            try await $0.query("SELECT tenant_id, holder_run, epoch FROM tenant_leases", name: "test.leases").rows
        }) {
            rows[try row.decode("tenant_id")] = LeaseRow(run: try row.decode("holder_run"), epoch: try row.decode("epoch"))
        }
        return rows
    }

    struct LeaseRow: Equatable {
        var run: String?
        var epoch: Int64
    }

    @Test func twoSupervisorsWithTheSameInstanceIDNeverShareALease() async throws {
        try await FleetFixture.with("sameid") { f in
            try await f.addAll()
            let a = f.startSupervisor("same-id", leaseTTL: .seconds(3))
            let runA = a.supervisor.holder.run
            try await f.waitUntil("a holds every lease and every mailbox streams") {
                let held = try await f.count("SELECT count(*) AS n FROM tenant_leases WHERE holder_run = $1", [PostgresValue(runA)])
                let streaming = try await f.streamingCount()
                return held == f.tenants.count && streaming == f.allMailboxes.count
            }
            let before = try await Self.leases(f)
            let b = f.startSupervisor("same-id", leaseTTL: .seconds(3))
            #expect(b.supervisor.holder.run != runA)
            // Each pass tries every tenant; a renews its leases meanwhile (every second).
            try await f.waitUntil("b tried to take every tenant three times") { b.supervisor.state.reconcilePasses >= 3 }
            #expect(b.supervisor.state.runtimes.isEmpty, "b runs no tenant of a's")
            #expect(try await Self.leases(f) == before, "b neither took a's leases nor shares their epoch")
            #expect(a.supervisor.state.runtimes.count == f.tenants.count)
            // a stops cleanly (the SIGTERM path): it releases its leases and b takes each at a new epoch.
            await a.stop()
            try await f.waitUntil("b took every tenant") {
                try await f.count("SELECT count(*) AS n FROM tenant_leases WHERE holder_run = $1",
                                  [PostgresValue(b.supervisor.holder.run)]) == f.tenants.count
            }
            for (tenant, row) in try await Self.leases(f) { #expect(row.epoch == before[tenant]!.epoch + 1) }
            try await f.waitUntil("every mailbox streams under b") { try await f.streamingCount() == f.allMailboxes.count }
            await b.stop()
        }
    }

    @Test func aWriteRefusedForALostLeaseStopsTheTenantAtOnceAndChangesNothingOfTheNewHolder() async throws {
        try await FleetFixture.with("fenced") { f in
            try await f.addAll()
            // Renewals 100 s apart: what stops the tenant below is a refused write, not a renewal.
            let a = f.startSupervisor("inst-a", leaseTTL: .seconds(300))
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let lost = try await TenantRepository(pool: f.pool).require(name: f.tenants[0].name)
            let kept = try await TenantRepository(pool: f.pool).require(name: f.tenants[1].name)
            // Another holder takes the lease over behind a's back (as after a stall past its expiry)
            // and writes its own status.
            try await f.pool.withConnection { conn in
                try await conn.query("""
                    UPDATE tenant_leases SET instance_id = 'inst-b', holder_run = 'intruder', epoch = epoch + 1,
                           acquired_at = now(), expires_at = now() + interval '1 hour' WHERE tenant_id = $1
                    """, [PostgresValue(lost.id)], name: "test.takeover")
                try await conn.query("""
                    UPDATE mailbox_status s SET state = 'polling', instance_id = 'inst-b' FROM mailboxes m
                     WHERE m.id = s.mailbox_id AND m.tenant_id = $1
                    """, [PostgresValue(lost.id)], name: "test.new_status")
            }
            let ids = try f.sim.world.deliver(mailbox: f.tenants[0].mailboxes[0], count: 1)
            try await f.waitUntil("a stopped the tenant") { a.supervisor.state.runtime(lost.id) == nil }
            #expect(a.supervisor.state.runtime(kept.id) != nil, "the other tenant runs on")
            await a.supervisor.batcher.flush()  // whatever a still had pending is refused, not written
            func newHolders() async throws -> Int {
                try await f.count("""
                    SELECT count(*) AS n FROM mailbox_status s JOIN mailboxes m ON m.id = s.mailbox_id
                     WHERE m.tenant_id = $1 AND s.state = 'polling' AND s.instance_id = 'inst-b'
                    """, [PostgresValue(lost.id)])
            }
            #expect(try await newHolders() == f.tenants[0].mailboxes.count)
            #expect(try await f.changeCount(ids) == 0, "a committed nothing after the takeover")
            // a does not take the tenant back (the new lease is live) and its clean stop leaves the
            // new holder's lease and rows alone.
            let passes = a.supervisor.state.reconcilePasses
            try await f.pool.withConnection { try await $0.query("SELECT pg_notify('ewsfleet_control', '0')", name: "test.wake") }
            try await f.waitUntil("a ran another pass") { a.supervisor.state.reconcilePasses > passes }
            #expect(a.supervisor.state.runtime(lost.id) == nil)
            await a.stop()
            #expect(try await f.count("SELECT count(*) AS n FROM tenant_leases WHERE tenant_id = $1 AND holder_run = 'intruder'",
                                      [PostgresValue(lost.id)]) == 1)
            #expect(try await newHolders() == f.tenants[0].mailboxes.count)
        }
    }

    /// A tenant EWS refuses (HTTP 403) is marked blocked by the supervisor's own work: reported
    /// and then shut down at once, the mark is written before `run()` returns, under the lease
    /// (released after it). A fire-and-forget task could write after the lease was released (and
    /// be refused), or not at all once the process exited.
    @Test func aTenantReportedBlockedRightBeforeShutdownIsMarkedBeforeRunReturns() async throws {
        try await FleetFixture.with("blockshut", dialect: .exchange) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            let tenant = f.tenants[0]
            try await f.waitUntil("the tenant runs") {
                fleet.supervisor.state.runtimes.contains { $0.tenant.name == tenant.name }
            }
            // The heartbeat names the release from its one home, as `ewsfleet --version` does.
            let version = try await f.pool.withConnection {
                try await $0.query("SELECT version FROM fleet_instances WHERE instance_id = 'test-a'", name: "t").rows[0]
                    .decode("version", as: String.self)
            }
            #expect(version == ProductVersion.current)
            let runtime = try #require(fleet.supervisor.state.runtimes.first { $0.tenant.name == tenant.name })
            runtime.notifyBlocked(EWSCallError.malformed("HTTP 403"))
            await fleet.stop()
            #expect(try await f.count("SELECT count(*) AS n FROM tenants WHERE name = $1 AND state = 'blocked'",
                                      [PostgresValue(tenant.name)]) == 1)
            #expect(try await f.count("SELECT count(*) AS n FROM tenant_leases l JOIN tenants t ON t.id = l.tenant_id WHERE t.name = $1 AND l.instance_id IS NOT NULL",
                                      [PostgresValue(tenant.name)]) == 0, "the lease is released after the mark")
        }
    }
}
