import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// `mailbox ignore`: the ids go in every SyncFolderItems' Ignore element, so changes to them are
/// not recorded while listed; a sync from scratch does not take them for deleted; once removed,
/// their changes are recorded again. The simulator's ground truth and ledger are the oracle.
@Suite(.requiresDatabase, .serialized) struct IgnoreTests {
    @Test(arguments: SimDialect.allCases)
    func ignoredItemsAreSkippedUntilRemovedFromTheList(dialect: SimDialect) async throws {
        try await FleetFixture.with("ignore", dialect: dialect, FolderWatchTests.single) { f in
            try await f.addAll()
            let (tenant, mailbox) = (f.tenants[0].name, f.allMailboxes[0])
            let repository = MailboxRepository(pool: f.pool)
            let fleet = f.startSupervisor()
            try await f.waitUntil("the mailbox streams") { try await f.streamingCount() == 1 }
            try await f.waitUntil("inbox converged") { try await f.converged(mailbox) }
            let items = try f.sim.world.items(mailbox: mailbox, folder: "inbox").map(\.itemId)
            let added = try await repository.ignore(tenant: tenant, smtpAddress: mailbox, itemIDs: [items[0], items[1]])
            #expect(added == 2)
            let before = try await f.changeCount([items[0], items[1]])
            let firstBefore = try await f.changeCount([items[0]])
            try f.sim.world.setRead(itemId: items[0], true)
            try f.sim.world.updateItem(itemId: items[1])
            try f.sim.world.setRead(itemId: items[2], true)  // not ignored: proves a sync ran after the others
            try await f.waitUntil("the change of the item not ignored is committed") { try await f.changeCount([items[2]]) == 2 }
            #expect(try await f.changeCount([items[0], items[1]]) == before, "ignored: not recorded")

            // A resync from scratch does not report them: they are not taken for deleted.
            _ = try await repository.resetSyncStates(tenant: tenant, smtpAddress: mailbox)
            try await f.waitUntil("the resync completed") {
                try await f.count("SELECT count(*) AS n FROM folder_sync WHERE last_full_sync_at IS NOT NULL AND sync_state <> ''") > 0
            }
            #expect(try await f.count("SELECT count(*) AS n FROM changes WHERE kind = 'deleted'") == 0)
            #expect(try await f.count("SELECT count(*) AS n FROM items WHERE item_id = ANY($1::text[])", [.array([items[0], items[1]])]) == 2)

            // Removed from the list: the next change is recorded.
            #expect(try await repository.unignore(tenant: tenant, smtpAddress: mailbox, itemIDs: [items[0]]) == 1)
            try f.sim.world.setRead(itemId: items[0], false)
            try await f.waitUntil("the change of the item no longer ignored is committed") {
                try await f.changeCount([items[0]]) == firstBefore + 1
            }
            let verdict = try await f.outboxVerdict(ignored: [items[1]])
            #expect(verdict.isClean, "\(verdict)")
            await fleet.stop()
        }
    }
}
