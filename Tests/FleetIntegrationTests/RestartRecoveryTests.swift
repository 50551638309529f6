import Fleet
import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// A server restart (or failover) loses every subscription. Exchange then refuses the stored ids;
/// gromox hands the same small numbers out again, so without impersonation the fleet's own first
/// resubscribes get exactly the ids other mailboxes still hold, and the server would accept them.
/// Every mailbox must be hearing its own folders again within a minute, with nothing lost.
@Suite(.requiresDatabase) struct RestartRecoveryTests {
    static let cases: [(SimDialect, impersonation: Bool)] = [(.exchange, true), (.gromox, false), (.gromox, true)]

    @Test(arguments: [0, 1, 2])
    func everyMailboxHearsItsOwnFoldersAgainAfterAServerRestart(_ index: Int) async throws {
        let (dialect, impersonation) = Self.cases[index]
        try await FleetFixture.with("restart-\(dialect.rawValue)-\(impersonation)", dialect: dialect, { c in
            c.tenants = 1
            c.mailboxesPerTenant = 12
            c.itemsPerMailbox = 2
            c.serversPerTenant = 1
            // gromox has no hanging-connection limit; one connection per mailbox needs 12.
            c.maxHangingConnections = 0
        }) { f in
            try await f.addAll(autodiscover: false, impersonation: impersonation, hangingConnections: 20)
            let fleet = f.startPacedSupervisor()
            try await f.waitUntil("every mailbox streams", limit: .seconds(120)) {
                try await f.streamingCount() == f.allMailboxes.count
            }
            let stored = try await f.subscriptionIDs()
            try f.sim.world.restart(tenant: f.tenants[0].name)
            let restartedAt = Date()
            // Every mailbox gets a subscription of its own again, and hears with it: mail sent
            // after the restart arrives without waiting for a safety sync (15 minutes).
            try await f.waitUntil("every mailbox subscribed again", limit: .seconds(60)) {
                try await f.subscriptionsCreated(after: restartedAt) == f.allMailboxes.count
            }
            try await f.waitUntil("every mailbox streams again", limit: .seconds(60)) {
                try await f.streamingCount() == f.allMailboxes.count
            }
            var delivered: [String] = []
            for mailbox in f.allMailboxes { delivered += try f.sim.world.deliver(mailbox: mailbox, count: 1) }
            try await f.waitUntil("every mailbox's new mail is committed", limit: .seconds(30)) {
                try await f.changeCount(delivered) == delivered.count
            }
            try await f.waitUntil("converged") { try await f.allConverged() }
            let verdict = try await f.outboxVerdict()
            #expect(verdict.isClean, "\(verdict)")
            let now = try await f.subscriptionIDs()
            if dialect == .gromox {
                // The counter started again: the new ids are the old numbers, held by other mailboxes.
                #expect(!Set(stored.values).isDisjoint(with: Set(now.values)), "gromox reused ids")
            }
            for (mailbox, id) in now { #expect(stored[mailbox] != id || dialect == .gromox, "\(mailbox) was replaced") }
            await fleet.stop()
        }
    }
}

extension FleetFixture {
    func subscriptionIDs() async throws -> [Int64: String] {
        try await pool.withConnection { conn in
            Dictionary(uniqueKeysWithValues: try await conn.query("SELECT mailbox_id, subscription_id FROM subscriptions",
                                                                  name: "test.subscriptions").rows.map {
                (try $0.decode("mailbox_id", as: Int64.self), try $0.decode("subscription_id", as: String.self))
            })
        }
    }

    func subscriptionsCreated(after date: Date) async throws -> Int {
        try await count("SELECT count(*) AS n FROM subscriptions WHERE created_at > $1", [PostgresValue(date)])
    }
}
