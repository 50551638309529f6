import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// A resync from scratch records only real differences, whatever the server repeats: gromox
/// follows each Create of a first sync with a ReadFlagChange for items whose read state ever
/// changed (found against a real gromox 3.10: a resync after a URL change recorded them again).
@Suite(.requiresDatabase, .serialized) struct ResyncTests {
    @Test(arguments: SimDialect.allCases)
    func aResyncAfterReadChangesRecordsNothing(dialect: SimDialect) async throws {
        try await FleetFixture.with("resync_reads", dialect: dialect, FolderWatchTests.single) { f in
            try await f.addAll()
            let mailbox = f.allMailboxes[0]
            let fleet = f.startSupervisor()
            try await f.waitUntil("the mailbox streams") { try await f.streamingCount() == 1 }
            let items = try f.sim.world.items(mailbox: mailbox, folder: "inbox").map(\.itemId)
            try f.sim.world.setRead(itemId: items[0], true)
            try f.sim.world.setRead(itemId: items[1], true)
            try f.sim.world.setRead(itemId: items[1], false)
            // Converged: the mirror has both read states and change keys (the ground truth).
            try await f.waitUntil("inbox converged") { try await f.converged(mailbox) }
            let before = try await f.count("SELECT count(*) AS n FROM changes")
            _ = try await MailboxRepository(pool: f.pool).resetSyncStates(tenant: f.tenants[0].name, smtpAddress: mailbox)
            try await f.waitUntil("the resync from scratch completed") {
                try await f.count("SELECT count(*) AS n FROM folder_sync WHERE last_full_sync_at IS NOT NULL AND sync_state <> ''") > 0
            }
            #expect(try await f.count("SELECT count(*) AS n FROM changes") == before, "nothing had changed")
            try await f.waitUntil("inbox converged") { try await f.converged(mailbox) }
            let verdict = try await f.outboxVerdict()
            #expect(verdict.isClean, "\(verdict)")
            await fleet.stop()
        }
    }
}
