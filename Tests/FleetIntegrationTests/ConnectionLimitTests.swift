import Simulator
import Store
import TestSupport
import Testing

/// Stream groups stay within the identity's hanging-connection limit (fact sheet §8.1). The
/// fixture's mailboxes live on two servers per tenant, so each tenant needs two groups.
@Suite(.requiresDatabase) struct ConnectionLimitTests {
    func count(_ f: FleetFixture, _ state: String) async throws -> Int {
        try await f.count("SELECT count(*) AS n FROM mailbox_status WHERE state = $1", [PostgresValue(state)])
    }

    @Test(.serialized, arguments: SimDialect.allCases) func withoutImpersonationOnlyTheLimitStreamsAndTheRestArePolledWithoutLoss(dialect: SimDialect) async throws {
        try await FleetFixture.with("hanging", dialect: dialect, { $0.maxHangingConnections = 1 }) { f in
            // Delegate access: every connection is charged to the service account, which may hold one.
            try await f.addAll(impersonation: false, hangingConnections: 1)
            let fleet = f.startSupervisor(pollInterval: .milliseconds(500))
            try await f.waitUntil("each tenant streams one group and polls the other") {
                let streaming = try await count(f, "streaming"), polling = try await count(f, "polling")
                return streaming + polling == f.allMailboxes.count && streaming >= f.tenants.count && polling >= f.tenants.count
            }
            var ids: [String] = []
            for mailbox in f.allMailboxes { ids += try f.sim.world.deliver(mailbox: mailbox, count: 1) }
            try await f.waitUntil("every mail is committed, streamed or polled") { try await f.changeCount(ids) == ids.count }
            try await f.waitUntil("converged") { try await f.allConverged() }
            let stats = f.sim.world.statsSnapshot()
            #expect(stats.throttled["HangingConnectionLimit", default: 0] == 0, "never asked for a connection over the limit")
            #expect(try await f.count("SELECT count(*) AS n FROM changes WHERE item_id = ANY($1::text[]) AND kind = 'created'",
                                      [.array(ids)]) == ids.count)
            await fleet.stop()
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func withImpersonationEachConnectionIsChargedToItsAnchorSoAllStream(dialect: SimDialect) async throws {
        try await FleetFixture.with("hanging-imp", dialect: dialect, { $0.maxHangingConnections = 1 }) { f in
            try await f.addAll(impersonation: true, hangingConnections: 1)
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let ids = try f.sim.world.deliver(mailbox: f.tenants[0].mailboxes[2], count: 1)
            try await f.waitUntil("the mail is committed") { try await f.changeCount(ids) == 1 }
            #expect(f.sim.world.statsSnapshot().throttled["HangingConnectionLimit", default: 0] == 0)
            await fleet.stop()
        }
    }
}
