import Foundation
import Simulator
import Store
import TestSupport
import Testing
@testable import Fleet

/// Sync-only mode on a running fleet, against the simulator's ground truth, ledger and per-tenant
/// request counts (the oracle: ewsfleet writes none of them).
@Suite(.requiresDatabase, .serialized) struct SyncOnlyTests {
    /// Mailboxes among `mailboxes` whose status row reads `state`.
    func count(_ f: FleetFixture, _ state: String, of mailboxes: [String]) async throws -> Int {
        try await f.count("""
            SELECT count(*) AS n FROM mailbox_status s JOIN mailboxes m ON m.id = s.mailbox_id
             WHERE s.state = $1 AND m.smtp_address = ANY($2::text[])
            """, [PostgresValue(state), .array(mailboxes)])
    }

    @Test(arguments: SimDialect.allCases)
    func aSyncOnlyTenantConvergesUnderTrafficWithoutOneSubscription(dialect: SimDialect) async throws {
        try await FleetFixture.with("sync_only", dialect: dialect) { f in
            // Tenant 0 is sync-only; tenant 1 streams, but for one mailbox that overrides its mode.
            let polledTenant = f.tenants[0].name
            let override = f.tenants[1].mailboxes[0]
            let syncOnly = f.tenants[0].mailboxes + [override]
            let notified = Array(f.tenants[1].mailboxes.dropFirst())
            try await f.addAll(mode: { $0 == polledTenant ? .syncOnly : .notify }, pollInterval: 10,
                               mailboxMode: { $0 == override ? .syncOnly : nil })
            let fleet = f.startSupervisor(coalescing: .milliseconds(100))
            try await f.waitUntil("the sync-only mailboxes are scheduled and the others stream") {
                let scheduled = try await count(f, "scheduled", of: syncOnly)
                let streaming = try await count(f, "streaming", of: notified)
                return scheduled == syncOnly.count && streaming == notified.count
            }
            f.sim.traffic.set(rate: 40)
            try await f.waitUntil("traffic ran") { f.sim.traffic.actions >= 150 }
            f.sim.traffic.stop()
            try await f.waitUntil("the mirror converged (within a poll interval for sync-only)") { try await f.allConverged() }
            let verdict = try await f.outboxVerdict()
            #expect(verdict.isClean, "\(verdict)")
            // Between and in its syncs a sync-only mailbox is on time, so it is not lagging.
            let lagging = try await f.count("SELECT count(*) AS n FROM lagging_mailboxes WHERE mailbox = ANY($1::text[])",
                                            [.array(syncOnly)])
            #expect(lagging == 0)
            let stats = f.sim.world.statsSnapshot()
            for operation in ["Subscribe", "GetStreamingEvents", "Unsubscribe"] {
                #expect(stats.requests(tenant: polledTenant, operation: operation) == 0, "\(operation)")
                #expect(stats.requests(mailbox: override, operation: operation) == 0, "\(operation)")
            }
            #expect(stats.requests(tenant: polledTenant, operation: "SyncFolderItems") > 0)
            #expect(stats.requests(tenant: f.tenants[1].name, operation: "Subscribe") > 0)
            await fleet.stop()
        }
    }

    /// `tenant update --mode` on a running tenant, both ways, through the reload path.
    @Test func aRunningTenantSwitchesToSyncOnlyAndBack() async throws {
        try await FleetFixture.with("sync_only_switch", { $0.tenants = 1; $0.serversPerTenant = 1 }) { f in
            let tenant = f.tenants[0].name
            try await f.addAll(pollInterval: 10)
            let fleet = f.startSupervisor()
            func update(_ mode: SyncMode) async throws {
                var u = TenantUpdate()
                u.syncMode = mode
                try await TenantRepository(pool: f.pool).update(name: tenant, u, secret: nil, keyring: f.keyring)
            }
            func mailFlows() async throws {
                var ids: [String] = []
                for m in f.allMailboxes { ids += try f.sim.world.deliver(mailbox: m, count: 1) }
                try await f.waitUntil("the new mail is committed") { try await f.changeCount(ids) == ids.count }
                try await f.waitUntil("converged") { try await f.allConverged() }
            }
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            try await update(.syncOnly)
            try await f.waitUntil("every mailbox is scheduled") {
                try await count(f, "scheduled", of: f.allMailboxes) == f.allMailboxes.count
            }
            // Its streams closed with the old runtime, and nothing subscribes any more.
            try await f.waitUntil("no stream is open") { f.sim.world.statsSnapshot().openStreams == 0 }
            let before = f.sim.world.statsSnapshot()
            try await mailFlows()
            let after = f.sim.world.statsSnapshot()
            for operation in ["Subscribe", "GetStreamingEvents"] {
                #expect(after.requests(tenant: tenant, operation: operation) == before.requests(tenant: tenant, operation: operation),
                        "\(operation)")
            }
            #expect(try await f.count("SELECT count(*) AS n FROM subscriptions") == 0, "the stored ids were forgotten")
            try await update(.notify)
            try await f.waitUntil("every mailbox streams again") { try await f.streamingCount() == f.allMailboxes.count }
            try await mailFlows()
            let verdict = try await f.outboxVerdict()
            #expect(verdict.isClean, "\(verdict)")
            await fleet.stop()
        }
    }
}
