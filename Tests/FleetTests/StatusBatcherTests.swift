import Foundation
import Logging
import Store
import Synchronization
import TestSupport
import Testing
@testable import Fleet
import Support

/// The status writer against a real database: a row it cannot write must not hold back the others.
@Suite(.requiresDatabase) struct StatusBatcherTests {
    static func withMailboxes(_ label: String, _ body: (PostgresPool, [Mailbox]) async throws -> Void) async throws {
        try await TestDatabase.withFresh(label) { database in
            let pool = database.pool()
            do {
                try await Migrator(pool: pool).migrate()
                _ = try await TenantRepository(pool: pool).add(
                    NewTenant(name: "contoso", ewsURL: "https://ews.contoso.example/EWS/Exchange.asmx",
                              authKind: .basic, identity: "svc"),
                    secret: Secret("pw"), keyring: SecretKeyring(current: SecretKey.generate().key))
                var mailboxes: [Mailbox] = []
                for name in ["a", "b", "c"] {
                    mailboxes.append(try await MailboxRepository(pool: pool).add(tenant: "contoso",
                                                                                  smtpAddress: "\(name)@contoso.example"))
                }
                try await body(pool, mailboxes)
                await pool.shutdown()
            } catch {
                await pool.shutdown()
                throw error
            }
        }
    }

    static func states(_ pool: PostgresPool) async throws -> [Int64: String] {
        let rows = try await pool.withConnection {
            try await $0.query("SELECT mailbox_id, state FROM mailbox_status", name: "test.states").rows
        }
        var states: [Int64: String] = [:]
        for row in rows { states[try row.decode("mailbox_id")] = try row.decode("state") }
        return states
    }

    @Test func aRemovedMailboxsPendingStatusIsDroppedAndTheRestIsWritten() async throws {
        try await Self.withMailboxes("status_removed") { (pool: PostgresPool, mailboxes: [Mailbox]) async throws in
            let batcher = StatusBatcher(pool: pool, logger: Logger(label: "test"))
            for mailbox in mailboxes { batcher.record(.init(mailboxID: mailbox.id, state: "streaming")) }
            try await MailboxRepository(pool: pool).remove(tenant: "contoso", smtpAddress: mailboxes[1].smtpAddress,
                                                           purge: true)
            await batcher.flush()
            #expect(try await Self.states(pool) == [mailboxes[0].id: "streaming", mailboxes[2].id: "streaming"])
            // Nothing of the removed mailbox is left to fail later flushes.
            batcher.record(.init(mailboxID: mailboxes[0].id, state: "syncing"))
            await batcher.flush()
            #expect(try await Self.states(pool)[mailboxes[0].id] == "syncing")
        }
    }

    @Test func oneRowTheDatabaseRefusesDoesNotBlockTheOthers() async throws {
        try await Self.withMailboxes("status_bad_row") { (pool: PostgresPool, mailboxes: [Mailbox]) async throws in
            let batcher = StatusBatcher(pool: pool, logger: Logger(label: "test"))
            batcher.record(.init(mailboxID: mailboxes[0].id, state: "streaming"))
            batcher.record(.init(mailboxID: mailboxes[1].id, state: "no such state"))  // fails the CHECK
            batcher.record(.init(mailboxID: mailboxes[2].id, state: "polling"))
            await batcher.flush()
            #expect(try await Self.states(pool) == [mailboxes[0].id: "streaming", mailboxes[2].id: "polling"])
            batcher.record(.init(mailboxID: mailboxes[2].id, state: "failed"))
            await batcher.flush()
            #expect(try await Self.states(pool)[mailboxes[2].id] == "failed")
        }
    }

    @Test func aStaleEntryIsDroppedAndReportedWithoutHoldingBackTheOthers() async throws {
        try await Self.withMailboxes("status_stale") { (pool: PostgresPool, mailboxes: [Mailbox]) async throws in
            let leases = LeaseRepository(pool: pool)
            let tenantID = mailboxes[0].tenantID
            let old = try #require(try await leases.acquire(tenantID: tenantID, holder: LeaseHolder(instanceID: "a", run: "1"),
                                                            ttl: .seconds(30)))
            try await pool.withConnection {
                try await $0.query("UPDATE tenant_leases SET expires_at = now() - interval '1 second'", name: "test.expire")
            }
            let new = try #require(try await leases.acquire(tenantID: tenantID, holder: LeaseHolder(instanceID: "b", run: "2"),
                                                            ttl: .seconds(30)))
            let lost = LostLeases()
            let batcher = StatusBatcher(pool: pool, logger: Logger(label: "test"),
                                        onLeaseLost: { lease in lost.list.withLock { $0.append(lease) } })
            batcher.record(.init(mailboxID: mailboxes[0].id, state: "failed", lease: old))  // a stalled old holder's
            batcher.record(.init(mailboxID: mailboxes[1].id, state: "streaming", lease: new))
            batcher.record(.init(mailboxID: mailboxes[2].id, state: "polling", lease: new))
            batcher.recordActivity(heartbeat: [mailboxes[0].id], events: [], lease: old)
            await batcher.flush()
            #expect(try await Self.states(pool) == [mailboxes[1].id: "streaming", mailboxes[2].id: "polling"])
            // Reported once per refused write kind (status, liveness), so the tenant is stopped.
            #expect(lost.list.withLock { $0 } == [old, old])
            // Dropped, not put back: the next flush has nothing left of it to write or report.
            await batcher.flush()
            #expect(lost.list.withLock { $0 }.count == 2)
            #expect(try await Self.states(pool).count == 2)
        }
    }
}

/// What a batcher reported lost (its callback may run on any task).
final class LostLeases: Sendable {
    let list = Mutex<[LeaseToken]>([])
}
