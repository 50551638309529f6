import Foundation
import Simulator
import Store
import TestSupport
import Testing

@Suite(.requiresDatabase) struct StreamGroupingTests {
    /// Mailboxes of one server share connections as far as the server lets them: Exchange groups
    /// them by affinity, gromox binds a subscription to the impersonated user, so there each
    /// mailbox ends up with a connection of its own.
    @Test(.serialized, arguments: SimDialect.allCases) func mailboxesShareConnectionsAsFarAsTheServerAllows(dialect: SimDialect) async throws {
        switch dialect {
        case .exchange: try await twoHundredMailboxesShareOneConnectionPerAffinityGroup()
        case .gromox: try await groupedConnectionsRefusedByGromoxBecomeOnePerMailbox()
        }
    }

    /// 201 mailboxes on one mailbox server: Autodiscover puts them in one affinity group, which
    /// splits into connections of at most 200 subscriptions, each with its affinity cookie.
    func twoHundredMailboxesShareOneConnectionPerAffinityGroup() async throws {
        try await FleetFixture.with("group200", dialect: .exchange, Self.oneServer(mailboxes: 201)) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams", limit: .seconds(180)) {
                try await f.streamingCount() == 201
            }
            try await f.waitUntil("both connections carry their members") { f.sim.world.statsSnapshot().openStreams == 2 }
            // A cold start opens each connection about once: the start-up gate holds the groups
            // until every mailbox has subscribed (before, every join reopened the connection).
            let opened = f.sim.world.statsSnapshot().streamsOpened
            #expect(opened <= 4, "\(opened) GetStreamingEvents for 2 connections")
            let groups = try await f.pool.withConnection {
                try await $0.query("SELECT group_key, count(*) AS n, count(DISTINCT affinity_cookie) AS cookies FROM subscriptions GROUP BY 1",
                                   name: "t").rows.map { (try $0.decode("n", as: Int.self), try $0.decode("cookies", as: Int.self)) }
            }
            #expect(groups.count == 1)  // one affinity key (one server)...
            #expect(groups.first?.0 == 201)
            #expect(groups.first?.1 == 1)  // ...and one cookie for all of them
            try await mailToTheLastMailboxIsCommittedOnce(f)
            await fleet.stop()
        }
    }

    /// gromox refuses, on a connection impersonating one mailbox, the other mailboxes' ids: the
    /// tenant switches to per-mailbox grouping (and says so in the database), every mailbox streams
    /// on a connection of its own, and nothing is lost. gromox sends no affinity cookie.
    func groupedConnectionsRefusedByGromoxBecomeOnePerMailbox() async throws {
        let mailboxes = 6
        try await FleetFixture.with("group6", dialect: .gromox, Self.oneServer(mailboxes: mailboxes)) { f in
            try await f.addAll()  // with impersonation
            let tenant = f.tenants[0].name
            let fleet = f.startSupervisor()
            try await f.waitUntil("the tenant gave up grouped connections") {
                try await f.count("SELECT count(*) AS n FROM tenants WHERE name = $1 AND grouping = 'per_mailbox'",
                                  [PostgresValue(tenant)]) == 1
            }
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == mailboxes }
            try await f.waitUntil("each mailbox has a connection of its own") { f.sim.world.statsSnapshot().openStreams == mailboxes }
            #expect(try await f.count("SELECT count(*) AS n FROM subscriptions WHERE affinity_cookie IS NOT NULL") == 0)
            #expect(try await f.count("SELECT count(*) AS n FROM tenants WHERE name = $1 AND grouping_reason IS NOT NULL",
                                      [PostgresValue(tenant)]) == 1, "the switch says why")
            try await mailToTheLastMailboxIsCommittedOnce(f)
            await fleet.stop()
        }
    }

    static func oneServer(mailboxes: Int) -> (inout SimConfiguration) -> Void {
        { c in
            c.tenants = 1
            c.mailboxesPerTenant = mailboxes
            c.itemsPerMailbox = 1
            c.serversPerTenant = 1
        }
    }

    func mailToTheLastMailboxIsCommittedOnce(_ f: FleetFixture) async throws {
        let last = f.allMailboxes.last!
        let ids = try f.sim.world.deliver(mailbox: last, count: 1)
        try await f.waitUntil("mail to the last mailbox is committed") {
            try await f.count("SELECT count(*) AS n FROM changes WHERE item_id = $1", [PostgresValue(ids[0])]) >= 1
        }
        try await f.waitUntil("the last mailbox converged") { try await f.converged(last) }
        #expect(try await f.count("SELECT count(*) AS n FROM changes WHERE item_id = $1", [PostgresValue(ids[0])]) == 1)
    }
}
