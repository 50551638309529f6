import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// `mailbox update` on a running fleet: the instance restarts the mailbox with the new folders or
/// mode within seconds. The simulator's ground truth and ledger are the oracle.
@Suite(.requiresDatabase, .serialized) struct MailboxUpdateTests {
    func update(_ f: FleetFixture, _ change: (inout MailboxUpdate) -> Void) async throws -> MailboxRepository.UpdateResult {
        var u = MailboxUpdate()
        change(&u)
        return try await MailboxRepository(pool: f.pool).update(tenant: f.tenants[0].name, smtpAddress: f.allMailboxes[0], u)
    }

    func rows(_ f: FleetFixture, kind: String, folder: String) async throws -> Int {
        try await f.count("SELECT count(*) AS n FROM changes WHERE kind = $1 AND folder_id = $2", [PostgresValue(kind), PostgresValue(folder)])
    }

    @Test(arguments: SimDialect.allCases)
    func foldersAddedRemovedAndPurgedOnARunningFleet(dialect: SimDialect) async throws {
        try await FleetFixture.with("mbx_update", dialect: dialect, FolderWatchTests.single) { f in
            try await f.addAll()
            let mailbox = f.allMailboxes[0]
            let fleet = f.startSupervisor()
            try await f.waitUntil("the mailbox streams") { try await f.streamingCount() == 1 }
            try await f.waitUntil("inbox converged") { try await f.converged(mailbox) }

            // Add a folder: what it held already and what arrives later both land, once.
            let before = try f.sim.world.deliver(mailbox: mailbox, count: 3, folder: "sentitems")
            let added = try await update(f) { $0.addFolders = ["sentitems"] }
            #expect(added.unwatched.isEmpty)
            try await f.waitUntil("sentitems converged") { try await f.converged(mailbox, folder: "sentitems", key: "sentitems") }
            try await f.waitUntil("the new subscription streams") { try await f.streamingCount() == 1 }
            let later = try f.sim.world.deliver(mailbox: mailbox, count: 2, folder: "sentitems")
            try await f.waitUntil("later mail to sentitems is committed") { try await f.changeCount(before + later) == 5 }
            var verdict = try await f.outboxVerdict(folders: ["inbox": "inbox", "sentitems": "sentitems"])
            #expect(verdict.isClean, "\(verdict)")

            // Stop watching inbox: its mirror rows stay, nothing more is recorded for it.
            let inboxRows = try await f.count("SELECT count(*) AS n FROM items WHERE folder_id = 'inbox'")
            let removed = try await update(f) { $0.removeFolders = ["inbox"] }
            #expect(removed.unwatched == ["inbox"])
            try await f.waitUntil("the new subscription streams") { try await f.streamingCount() == 1 }
            let ignored = try f.sim.world.deliver(mailbox: mailbox, count: 2, folder: "inbox")
            let proof = try f.sim.world.deliver(mailbox: mailbox, count: 1, folder: "sentitems")
            try await f.waitUntil("mail to sentitems after the change is committed") { try await f.changeCount(proof) == 1 }
            #expect(try await f.changeCount(ignored) == 0, "inbox is no longer watched")
            #expect(try await f.count("SELECT count(*) AS n FROM items WHERE folder_id = 'inbox'") == inboxRows)
            #expect(try await rows(f, kind: "deleted", folder: "inbox") == 0, "kept, not deleted, without --purge")

            // Watch drafts instead of sentitems, purging sentitems: each of its items leaves with a
            // `deleted` row, and a sync of it still running cannot bring it back.
            let sentRows = try await f.count("SELECT count(*) AS n FROM items WHERE folder_id = 'sentitems'")
            let purged = try await update(f) { $0.addFolders = ["drafts"]; $0.removeFolders = ["sentitems"]; $0.purge = true }
            #expect(purged.unwatched == ["inbox", "sentitems"], "a purge removes every folder no longer watched")
            #expect(purged.purgedItems == sentRows + inboxRows)
            try await f.waitUntil("the new subscription streams") { try await f.streamingCount() == 1 }
            let intoSent = try f.sim.world.deliver(mailbox: mailbox, count: 2, folder: "sentitems")
            let intoDrafts = try f.sim.world.deliver(mailbox: mailbox, count: 2, folder: "drafts")
            try await f.waitUntil("drafts converged") { try await f.converged(mailbox, folder: "drafts", key: "drafts") }
            try await f.waitUntil("drafts mail committed") { try await f.changeCount(intoDrafts) == 2 }
            #expect(try await f.changeCount(intoSent) == 0)
            #expect(try await f.count("SELECT count(*) AS n FROM items WHERE folder_id <> 'drafts'") == 0)
            #expect(try await rows(f, kind: "deleted", folder: "sentitems") == sentRows)
            verdict = try await f.outboxVerdict(folders: ["drafts": "drafts"])
            #expect(verdict.isClean, "\(verdict)")

            // One mailbox turns sync-only: no new subscription, still every change.
            let subscribes = f.sim.world.statsSnapshot().requests(mailbox: mailbox, operation: "Subscribe")
            _ = try await update(f) { $0.syncMode = .value(.syncOnly); $0.pollIntervalSeconds = .value(10) }
            try await f.waitUntil("the mailbox is scheduled") {
                try await f.count("SELECT count(*) AS n FROM mailbox_status WHERE state = 'scheduled'") == 1
            }
            let polled = try f.sim.world.deliver(mailbox: mailbox, count: 2, folder: "drafts")
            try await f.waitUntil("polled mail committed") { try await f.changeCount(polled) == 2 }
            #expect(f.sim.world.statsSnapshot().requests(mailbox: mailbox, operation: "Subscribe") == subscribes)
            await fleet.stop()
        }
    }
}
