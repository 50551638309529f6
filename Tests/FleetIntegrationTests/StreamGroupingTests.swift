import Foundation
import Simulator
import Store
import TestSupport
import Testing

@Suite(.requiresDatabase) struct StreamGroupingTests {
    /// 201 mailboxes on one mailbox server: Autodiscover puts them in one affinity group, which
    /// splits into connections of at most 200 subscriptions, each with its affinity cookie.
    @Test func twoHundredMailboxesShareOneConnectionPerAffinityGroup() async throws {
        try await FleetFixture.with("group200", { c in
            c.tenants = 1
            c.mailboxesPerTenant = 201
            c.itemsPerMailbox = 1
            c.serversPerTenant = 1
        }) { f in
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
            let last = f.allMailboxes.last!
            let ids = try f.sim.world.deliver(mailbox: last, count: 1)
            try await f.waitUntil("mail to the 201st mailbox is committed") {
                try await f.count("SELECT count(*) AS n FROM changes WHERE item_id = $1", [PostgresValue(ids[0])]) == 1
            }
            await fleet.stop()
        }
    }
}
