import Foundation
import Simulator
import Store
import TestSupport
import Testing

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
            let a = f.startSupervisor("inst-a", leaseTTL: .seconds(3))
            try await f.waitUntil("instance a holds every lease") {
                try await f.count("SELECT count(*) AS n FROM tenant_leases WHERE instance_id = 'inst-a'") == f.tenants.count
            }
            let b = f.startSupervisor("inst-b", leaseTTL: .seconds(3))
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
}
