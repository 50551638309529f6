import Foundation
import Simulator
import Store
import TestSupport
import Testing
import Support

/// `--folder search:NAME` on a running fleet: the search folder is found by its display name,
/// never synced (ews-sim refuses SyncFolderItems on it, which would fail the folder), listed with
/// FindItem when a notification says it changed, and its mirror follows ews-sim's truth while the
/// inbox that holds the same items is mirrored apart. The outbox oracle judges both folders.
@Suite(.requiresDatabase, .serialized) struct SearchFolderTests {
    static let key = "search:Unread Mail"

    @Test(arguments: SimDialect.allCases)
    func aSearchFolderFollowsItsItemsBesideTheirRealFolder(dialect: SimDialect) async throws {
        try await FleetFixture.with("search", dialect: dialect, {
            $0.tenants = 1
            $0.mailboxesPerTenant = 2
            $0.itemsPerMailbox = 0
            $0.unreadSearchFolder = "Unread Mail"
        }) { f in
            let tenant = f.tenants[0]
            let (mailbox, typo) = (f.allMailboxes[0], f.allMailboxes[1])
            let first = try f.sim.world.deliver(mailbox: mailbox, count: 20)
            for id in first.prefix(8) { try f.sim.world.setRead(itemId: id, true) }
            try await TenantRepository(pool: f.pool).add(
                NewTenant(name: tenant.name, ewsURL: tenant.ewsURL, authKind: .basic, identity: tenant.username, allowPlainHTTP: true),
                secret: Secret(tenant.password), keyring: f.keyring)
            let repository = MailboxRepository(pool: f.pool)
            try await repository.add(tenant: tenant.name, smtpAddress: mailbox, watch: .folders(["inbox", Self.key]))
            try await repository.add(tenant: tenant.name, smtpAddress: typo, watch: .folders(["inbox", "search:Unread Mial"]))
            let fleet = f.startSupervisor()
            func converged() async throws -> Bool {
                guard try await f.converged(mailbox) else { return false }
                return try await f.converged(mailbox, folder: "Unread Mail", key: Self.key)
            }
            try await f.waitUntil("both folders are mirrored") { try await converged() }
            #expect(try await f.count("SELECT count(*) AS n FROM items WHERE folder_id = $1", [PostgresValue(Self.key)]) == 12)
            #expect(try await f.count("SELECT count(*) AS n FROM changes WHERE folder_id = $1 AND kind = 'created'",
                                      [PostgresValue(Self.key)]) == 12)

            // Items enter (new mail, marked unread), change in it, and leave it (read, moved out,
            // deleted), each told by a notification on the search folder.
            let fresh = try f.sim.world.deliver(mailbox: mailbox, count: 3)
            try f.sim.world.setRead(itemId: first[0], false)
            try f.sim.world.updateItem(itemId: first[10])
            try f.sim.world.setRead(itemId: first[11], true)
            _ = try f.sim.world.moveItem(itemId: first[12], toFolder: "sentitems")
            try f.sim.world.deleteItem(itemId: first[13], hard: true)
            try await f.waitUntil("both folders follow") { try await converged() }
            #expect(try await f.count("SELECT count(*) AS n FROM items WHERE item_id = $1", [PostgresValue(fresh[0])]) == 2,
                    "one item, mirrored in the inbox and in the search folder")
            let verdict = try await f.outboxVerdict(folders: ["inbox": "inbox", "Unread Mail": Self.key])
            #expect(verdict.isClean, "\(verdict)")
            let requests = f.sim.world.statsSnapshot().requests
            #expect((requests["FindFolder"]?.values.reduce(0, +) ?? 0) > 0)
            #expect((requests["FindItem"]?.values.reduce(0, +) ?? 0) > 0)
            // A name no search folder has: one clear error, and the mailbox is retried, paced.
            try await f.waitUntil("the unknown search folder is reported") {
                try await f.count("""
                    SELECT count(*) AS n FROM mailbox_status s JOIN mailboxes m ON m.id = s.mailbox_id
                     WHERE m.smtp_address = $1 AND s.last_error_message LIKE '%no search folder named "Unread Mial"%'
                       AND s.next_attempt_at IS NOT NULL
                    """, [PostgresValue(typo)]) == 1
            }
            await fleet.stop()
        }
    }
}
