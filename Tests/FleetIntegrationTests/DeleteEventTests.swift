import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// A DeletedEvent (or a move's old id) takes the item out of the mirror at once, before the
/// coalesced sync, and that sync's report of the same delete records nothing. Exchange dialect:
/// gromox names no item in the events of a subscription to named folders. The simulator's stats,
/// ground truth and ledger are the oracle.
@Suite(.requiresDatabase, .serialized) struct DeleteEventTests {
    @Test func deletesAndMovesOutAreRecordedBeforeTheSyncAndOnlyOnce() async throws {
        try await FleetFixture.with("delete_event", FolderWatchTests.single) { f in
            try await f.addAll()
            let mailbox = f.allMailboxes[0]
            // A long coalescing window: a delete recorded well within it was not recorded by a sync.
            let fleet = f.startSupervisor(coalescing: .seconds(10))
            try await f.waitUntil("the mailbox streams") { try await f.streamingCount() == 1 }
            try await f.waitUntil("inbox converged") { try await f.converged(mailbox) }
            let items = try f.sim.world.items(mailbox: mailbox, folder: "inbox").map(\.itemId)
            let syncs = f.sim.world.statsSnapshot().requests(mailbox: mailbox, operation: "SyncFolderItems")
            try f.sim.world.deleteItem(itemId: items[0])
            _ = try f.sim.world.moveItem(itemId: items[1], toFolder: "deleteditems")
            func deletedRows(_ id: String) async throws -> Int {
                try await f.count("SELECT count(*) AS n FROM changes WHERE kind = 'deleted' AND item_id = $1", [PostgresValue(id)])
            }
            try await f.waitUntil("both deletes are committed", limit: .seconds(6)) {
                let deleted = try await deletedRows(items[0])
                let moved = try await deletedRows(items[1])
                return deleted == 1 && moved == 1
            }
            #expect(f.sim.world.statsSnapshot().requests(mailbox: mailbox, operation: "SyncFolderItems") == syncs,
                    "no sync ran: the events alone recorded them")
            try await f.waitUntil("the coalesced sync ran", limit: .seconds(30)) {
                f.sim.world.statsSnapshot().requests(mailbox: mailbox, operation: "SyncFolderItems") > syncs
            }
            try await f.waitUntil("inbox converged") { try await f.converged(mailbox) }
            let deleted = try await deletedRows(items[0])
            let moved = try await deletedRows(items[1])
            #expect(deleted == 1 && moved == 1, "the sync recorded nothing twice")
            let verdict = try await f.outboxVerdict()
            #expect(verdict.isClean, "\(verdict)")
            await fleet.stop()
        }
    }
}
