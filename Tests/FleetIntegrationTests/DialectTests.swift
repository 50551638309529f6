import Fleet
import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// What only a server that is not Exchange shows, and status that tells the truth.
@Suite(.requiresDatabase) struct DialectTests {
    /// gromox reports a read, a move out and a delete on a one-folder subscription only as a
    /// folder-level ModifiedEvent of that folder: each must reach the outbox at once, not at the
    /// 15-minute safety sync.
    @Test func underGromoxFolderLevelEventsSyncTheWatchedFolderPromptly() async throws {
        try await FleetFixture.with("gromox-folder-events", dialect: .gromox, { c in
            c.tenants = 1
            c.mailboxesPerTenant = 2
            c.itemsPerMailbox = 8
            c.serversPerTenant = 1
            c.maxHangingConnections = 0
        }) { f in
            try await f.addAll(autodiscover: false)
            let fleet = f.startPacedSupervisor()  // safety sync every 900 s
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            try await f.waitUntil("converged") { try await f.allConverged() }
            let mailbox = f.allMailboxes[0]
            // The first unread item, then two others.
            let snapshot = try f.sim.world.items(mailbox: mailbox)
            let unread = try #require(snapshot.first { !$0.isRead })
            let items = [unread.itemId] + snapshot.map(\.itemId).filter { $0 != unread.itemId }
            try f.sim.world.setRead(itemId: items[0], true)
            try await f.waitUntil("the read reaches the outbox", limit: .seconds(15)) {
                try await f.count("SELECT count(*) AS n FROM changes WHERE item_id = $1 AND kind = 'read_flag' AND is_read",
                                  [PostgresValue(items[0])]) == 1
            }
            _ = try f.sim.world.moveItem(itemId: items[1], toFolder: "deleteditems")
            try f.sim.world.deleteItem(itemId: items[2], hard: true)
            try await f.waitUntil("the move out and the delete reach the outbox", limit: .seconds(15)) {
                try await f.count("SELECT count(*) AS n FROM changes WHERE item_id = ANY($1::text[]) AND kind = 'deleted'",
                                  [.array([items[1], items[2]])]) == 2
            }
            try await f.waitUntil("converged") { try await f.converged(mailbox) }
            await fleet.stop()
        }
    }

    /// `mailbox_status` says `streaming` only while the stream is up: a server that ends every
    /// stream makes it `backing_off` with the error, and recovery makes it `streaming` again.
    @Test(arguments: SimDialect.allCases)
    func statusLeavesStreamingWhileTheStreamIsDownAndReturnsWithIt(_ dialect: SimDialect) async throws {
        try await FleetFixture.with("status-\(dialect.rawValue)", dialect: dialect, { c in
            c.tenants = 1
            c.mailboxesPerTenant = 2
            c.serversPerTenant = 1
            c.maxHangingConnections = 0
        }) { f in
            try await f.addAll(autodiscover: false)
            let fleet = f.startPacedSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            var fault = SimFault(.endStreams)
            fault.streamEnd = .closed
            let id = try f.sim.world.injectFault(fault)
            try await f.waitUntil("status shows the stream down", limit: .seconds(30)) {
                try await f.statusRows().allSatisfy { $0.state == "backing_off" && $0.code == "StreamEndedEarly" && $0.failures >= 1 }
            }
            f.sim.world.clearFaults(id: id)
            try await f.waitUntil("streaming again", limit: .seconds(60)) {
                try await f.streamingCount() == f.allMailboxes.count
            }
            await fleet.stop()
        }
    }

    /// A stopped instance leaves no mailbox saying `streaming`: it marks its own rows `idle`.
    @Test func aStoppedInstanceMarksItsMailboxesIdle() async throws {
        try await FleetFixture.with("stop-idle", { c in
            c.tenants = 1
            c.mailboxesPerTenant = 2
            c.serversPerTenant = 1
        }) { f in
            try await f.addAll()
            let fleet = f.startPacedSupervisor("stopper")
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            await fleet.stop()
            let rows = try await f.statusRows()
            #expect(rows.count == f.allMailboxes.count)
            #expect(rows.allSatisfy { $0.state == "idle" }, "\(rows)")
        }
    }

    /// A server that refuses grouped subscriptions makes the tenant `per_mailbox`; an operator's
    /// `tenant update --grouping auto` takes effect in the running instance, and the server decides
    /// again. Exchange keeps its grouping.
    @Test(arguments: SimDialect.allCases)
    func groupingFollowsTheServerAndAnOperatorCanResetIt(_ dialect: SimDialect) async throws {
        try await FleetFixture.with("grouping-\(dialect.rawValue)", dialect: dialect, { c in
            c.tenants = 1
            c.mailboxesPerTenant = 3
            c.serversPerTenant = 1
            c.maxHangingConnections = 0
        }) { f in
            try await f.addAll(autodiscover: false)
            let name = f.tenants[0].name
            func grouping() async throws -> (StreamGrouping, String?) {
                let tenant = try await TenantRepository(pool: f.pool).require(name: name)
                return (tenant.grouping, tenant.groupingReason)
            }
            let fleet = f.startPacedSupervisor()
            try await f.waitUntil("every mailbox streams", limit: .seconds(90)) {
                try await f.streamingCount() == f.allMailboxes.count
            }
            guard dialect == .gromox else {
                #expect(try await grouping().0 == .auto)
                #expect(f.sim.world.statsSnapshot().openStreams == 1, "one connection for the group")
                await fleet.stop()
                return
            }
            #expect(try await grouping().0 == .perMailbox)
            #expect(try await grouping().1?.contains("impersonated user") == true)
            var reset = TenantUpdate()
            reset.grouping = .auto
            try await TenantRepository(pool: f.pool).update(name: name, reset, secret: nil, keyring: f.keyring)
            // The running instance groups again, the server refuses again, the tenant is per_mailbox again.
            try await f.waitUntil("the server's refusals switch the tenant back", limit: .seconds(90)) {
                let (mode, reason) = try await grouping()
                return mode == .perMailbox && reason != nil
            }
            try await f.waitUntil("every mailbox streams", limit: .seconds(90)) {
                try await f.streamingCount() == f.allMailboxes.count
            }
            var ids: [String] = []
            for mailbox in f.allMailboxes { ids += try f.sim.world.deliver(mailbox: mailbox, count: 1) }
            try await f.waitUntil("every mail arrives") { try await f.changeCount(ids) == ids.count }
            await fleet.stop()
        }
    }
}
