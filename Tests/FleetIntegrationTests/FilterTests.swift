import Foundation
import Simulator
import Store
import TestSupport
import Testing
import Support

/// `--filter` on a running fleet: only items in the scope reach the mirror and the outbox; a change
/// that moves an item into or out of the scope is `created` or `deleted`; a filter changed or
/// removed by `mailbox update` scopes the folder again. The scope is judged by this test from
/// ews-sim's ground truth (importance and categories), and the outbox by the oracle.
@Suite(.requiresDatabase, .serialized) struct FilterTests {
    static let text = "importance:high or category:follow-up"

    /// The test's own reading of the filter, over the simulator's truth.
    static func expectedScope(_ f: FleetFixture, _ mailbox: String) throws -> Set<String> {
        Set(try f.sim.world.contents(mailbox: mailbox)
            .filter { $0.importance == "High" || $0.categories.contains("Follow-up") }.map(\.itemId))
    }

    static func mirror(_ f: FleetFixture) async throws -> Set<String> {
        Set(try await f.pool.withConnection { conn in
            try await conn.query("SELECT item_id FROM items WHERE folder_id = 'inbox'", name: "test.mirror").rows
                .map { try $0.decode("item_id", as: String.self) }
        })
    }

    @Test(arguments: SimDialect.allCases)
    func onlyTheScopeIsRecordedAndItemsEnterAndLeaveIt(dialect: SimDialect) async throws {
        try await FleetFixture.with("filter", dialect: dialect, { FolderWatchTests.single(&$0); $0.itemsPerMailbox = 0 }) { f in
            let (tenant, mailbox) = (f.tenants[0].name, f.allMailboxes[0])
            _ = try f.sim.world.deliver(mailbox: mailbox, count: 30)
            try await TenantRepository(pool: f.pool).add(
                NewTenant(name: tenant, ewsURL: f.tenants[0].ewsURL, authKind: .basic, identity: f.tenants[0].username,
                          allowPlainHTTP: true),
                secret: Secret(f.tenants[0].password), keyring: f.keyring)
            try await MailboxRepository(pool: f.pool).add(tenant: tenant, smtpAddress: mailbox,
                                                          filter: try MailboxFilter(parsing: Self.text))
            let fleet = f.startSupervisor()
            try await f.waitUntil("the scope is mirrored") { try await Self.mirror(f) == Self.expectedScope(f, mailbox) }
            let scope = try Self.expectedScope(f, mailbox)
            #expect(!scope.isEmpty && scope.count < 30)
            #expect(try await f.count("SELECT count(*) AS n FROM changes") == scope.count, "one created row per item in the scope")

            // New mail, in and out of the scope; an item flagged (Follow-up) enters it, one
            // unflagged leaves it; a read outside the scope is nothing.
            let fresh = try f.sim.world.deliver(mailbox: mailbox, count: 10)
            let outside = try f.sim.world.contents(mailbox: mailbox).filter { !Self.expectedScopeItem($0) }.map(\.itemId)
            try f.sim.world.updateItem(itemId: outside[0])  // flagged: enters
            try f.sim.world.setRead(itemId: outside[1], true)  // outside: nothing
            try await f.waitUntil("the changes are mirrored") { try await Self.mirror(f) == Self.expectedScope(f, mailbox) }
            try f.sim.world.updateItem(itemId: outside[0])  // unflagged: leaves again
            try await f.waitUntil("the item left the scope") { try await Self.mirror(f) == Self.expectedScope(f, mailbox) }
            #expect(try await f.changeCount([outside[1]]) == 0)
            #expect(try await f.count("SELECT count(*) AS n FROM changes WHERE item_id = $1 AND kind = 'deleted'",
                                      [PostgresValue(outside[0])]) == 1)
            _ = fresh
            var verdict = try await f.outboxVerdict(inScope: { Self.inScope(f, mailbox, $0) })
            #expect(verdict.isClean, "\(verdict)")

            // The filter removed on the running fleet: the folder is scoped again, everything enters.
            var update = MailboxUpdate()
            update.filter = .tenant
            _ = try await MailboxRepository(pool: f.pool).update(tenant: tenant, smtpAddress: mailbox, update)
            try await f.waitUntil("inbox converged without a filter") { try await f.converged(mailbox) }
            verdict = try await f.outboxVerdict()
            #expect(verdict.isClean, "\(verdict)")
            #expect(try await f.count("SELECT count(*) AS n FROM folder_sync WHERE filter_scope = ''") == 1)
            await fleet.stop()
        }
    }

    static func expectedScopeItem(_ c: SimWorld.ItemContentSnapshot) -> Bool {
        c.importance == "High" || c.categories.contains("Follow-up")
    }

    static func inScope(_ f: FleetFixture, _ mailbox: String, _ item: SimWorld.ItemSnapshot) -> Bool {
        (try? expectedScope(f, mailbox).contains(item.itemId)) ?? false
    }
}
