import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// `--start now`: what a mailbox holds when it is first synced is mirrored without a GetItem and
/// without an outbox row; every later change is recorded. The simulator's ground truth, ledger and
/// per-mailbox request counts are the oracle.
@Suite(.requiresDatabase, .serialized) struct BaselineTests {
    @Test(arguments: SimDialect.allCases)
    func aMailboxStartedNowMirrorsWithoutGetItemAndRecordsOnlyLaterChanges(dialect: SimDialect) async throws {
        try await FleetFixture.with("baseline", dialect: dialect, {
            $0.tenants = 1
            $0.mailboxesPerTenant = 2
            $0.itemsPerMailbox = 40
        }) { f in
            let (now, backfilled) = (f.allMailboxes[0], f.allMailboxes[1])
            // Some items read before the start, so the baseline's read states are tested too.
            let existing = try f.sim.world.items(mailbox: now, folder: "inbox").map(\.itemId)
            try #require(existing.count >= 16)
            for id in existing.prefix(7) { try f.sim.world.setRead(itemId: id, true) }
            try await f.addAll(start: { $0 == now ? .now : .backfill })
            let fleet = f.startSupervisor()
            try await f.waitUntil("both mailboxes stream") { try await f.streamingCount() == 2 }
            try await f.waitUntil("both mirrors converged") { try await f.allConverged() }
            let stats = f.sim.world.statsSnapshot()
            #expect(stats.requests(mailbox: now, operation: "GetItem") == 0, "the baseline fetched nothing")
            let inbox = try f.sim.world.items(mailbox: backfilled, folder: "inbox").count
            #expect(stats.requests(mailbox: backfilled, operation: "GetItem") == (inbox + 9) / 10, "a backfill fetches in batches of 10")
            #expect(try await f.count("SELECT count(*) AS n FROM changes c JOIN mailboxes m ON m.id = c.mailbox_id WHERE m.smtp_address = $1",
                                      [PostgresValue(now)]) == 0)
            #expect(try await f.count("SELECT count(*) AS n FROM changes c JOIN mailboxes m ON m.id = c.mailbox_id WHERE m.smtp_address = $1 AND kind = 'created'",
                                      [PostgresValue(backfilled)]) == inbox)

            // From here on, everything is recorded: new mail, a read change of a baseline item, a delete.
            let fresh = try f.sim.world.deliver(mailbox: now, count: 3)
            try f.sim.world.setRead(itemId: existing[10], true)
            try f.sim.world.deleteItem(itemId: existing[15])
            try await f.waitUntil("new mail is committed") { try await f.changeCount(fresh) == 3 }
            try await f.waitUntil("the read change and the delete are committed") {
                try await f.changeCount([existing[10], existing[15]]) == 2
            }
            try await f.waitUntil("both mirrors converged") { try await f.allConverged() }
            let verdict = try await f.outboxVerdict(baseline: Set(existing))
            #expect(verdict.isClean, "\(verdict)")
            await fleet.stop()
        }
    }
}
