import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// All-folders mode (SyncFolderHierarchy) and notifications that mark only the folders they name,
/// against ews-sim (which validates every request against the EWS schema) and PostgreSQL.
@Suite(.requiresDatabase) struct FolderWatchTests {
    static func single(_ configuration: inout SimConfiguration) {
        configuration.tenants = 1
        configuration.mailboxesPerTenant = 1
        configuration.itemsPerMailbox = 12
    }

    /// The mail folders of a simulator mailbox: (name in ews-sim, folder key in the mirror).
    func mailFolders(_ f: FleetFixture, extra: [(String, String)]) async throws -> [(String, String)] {
        var folders = [("inbox", "inbox"), ("sentitems", "sentitems"), ("deleteditems", "deleteditems"), ("drafts", "drafts")]
        for name in ["Projects", "Archive"] {
            let key = try await f.pool.withConnection {
                try await $0.query("SELECT folder_id FROM folder_sync WHERE display_name = $1", [PostgresValue(name)],
                                   name: "t").rows.first?.decode("folder_id", as: String.self)
            }
            folders.append((name, try #require(key, "\(name) was discovered")))
        }
        return folders + extra
    }

    func allConverged(_ f: FleetFixture, _ mailbox: String, _ folders: [(String, String)]) async throws -> Bool {
        for (name, key) in folders where try await !f.converged(mailbox, folder: name, key: key) { return false }
        return true
    }

    /// Items whose `created` row count is not exactly one.
    func createdRowsNotOne(_ f: FleetFixture) async throws -> Int {
        try await f.count("""
            SELECT count(*) AS n FROM items i
             WHERE (SELECT count(*) FROM changes c WHERE c.mailbox_id = i.mailbox_id AND c.item_id = i.item_id
                       AND c.kind = 'created') <> 1
            """)
    }

    @Test(.serialized, arguments: SimDialect.allCases) func allFoldersModeMirrorsEveryMailFolderIncludingOnesCreatedLater(dialect: SimDialect) async throws {
        try await FleetFixture.with("allfolders", dialect: dialect, Self.single) { f in
            try await f.addAll(watch: { _ in .allFolders })
            let mailbox = f.allMailboxes[0]
            let clients = try f.sim.world.createFolder(mailbox: mailbox, name: "Clients")
            try f.sim.world.deliver(mailbox: mailbox, count: 2, folder: "Clients")
            var fleet = f.startSupervisor()
            try await f.waitUntil("the mailbox streams") { try await f.streamingCount() == 1 }
            let folders = try await mailFolders(f, extra: [("Clients", clients)])
            try await f.waitUntil("every mail folder converged") { try await allConverged(f, mailbox, folders) }

            // While streaming: a new folder (a folder event → hierarchy sync) with mail, and mail to inbox.
            let later = try f.sim.world.createFolder(mailbox: mailbox, name: "Later")
            let intoLater = try f.sim.world.deliver(mailbox: mailbox, count: 3, folder: "Later")
            let intoInbox = try f.sim.world.deliver(mailbox: mailbox, count: 2, folder: "inbox")
            let all = folders + [("Later", later)]
            try await f.waitUntil("the new folder and inbox converged") {
                try await f.changeCount(intoLater + intoInbox) == 5
            }
            try await f.waitUntil("every folder converged") { try await allConverged(f, mailbox, all) }
            #expect(try await f.count("SELECT count(*) AS n FROM changes WHERE kind = 'created' AND folder_id = $1 AND item_id = ANY($2::text[])",
                                      [PostgresValue(later), .array(intoLater)]) == 3)
            #expect(try await createdRowsNotOne(f) == 0)
            // The calendar is not synced; the hierarchy state is stored under its reserved key.
            #expect(try await f.count("SELECT count(*) AS n FROM folder_sync WHERE display_name = 'Calendar'") == 0)
            #expect(try await f.count("SELECT count(*) AS n FROM folder_sync WHERE folder_id = '#hierarchy' AND sync_state <> ''") == 1)
            #expect(f.sim.world.statsSnapshot().count("SyncFolderHierarchy", status: 200) >= 2)

            // A warm restart continues from the stored hierarchy state: no GetFolder, nothing repeated.
            await fleet.stop()
            let getFolders = f.sim.world.statsSnapshot().count("GetFolder", status: 200)
            let whileDown = try f.sim.world.deliver(mailbox: mailbox, count: 2, folder: "Clients")
            fleet = f.startSupervisor()
            try await f.waitUntil("mail delivered while down is committed") { try await f.changeCount(whileDown) == 2 }
            try await f.waitUntil("every folder converged after the restart") { try await allConverged(f, mailbox, all) }
            #expect(f.sim.world.statsSnapshot().count("GetFolder", status: 200) == getFolders)
            #expect(try await createdRowsNotOne(f) == 0)
            await fleet.stop()
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func aDeletedFolderLeavesTheMirrorWithADeletedRowPerItem(dialect: SimDialect) async throws {
        try await FleetFixture.with("dropfolder", dialect: dialect, Self.single) { f in
            try await f.addAll(watch: { _ in .allFolders })
            let mailbox = f.allMailboxes[0]
            let doomed = try f.sim.world.createFolder(mailbox: mailbox, name: "Doomed")
            let items = try f.sim.world.deliver(mailbox: mailbox, count: 3, folder: "Doomed")
            let fleet = f.startSupervisor()
            try await f.waitUntil("the folder is mirrored") { try await f.changeCount(items) == 3 }
            try f.sim.world.deleteFolder(mailbox: mailbox, folder: "Doomed")
            try await f.waitUntil("the folder left the mirror") {
                try await f.count("SELECT count(*) AS n FROM items WHERE folder_id = $1", [PostgresValue(doomed)]) == 0
            }
            #expect(try await f.count("SELECT count(*) AS n FROM changes WHERE kind = 'deleted' AND folder_id = $1 AND item_id = ANY($2::text[])",
                                      [PostgresValue(doomed), .array(items)]) == 3)
            #expect(try await f.count("SELECT count(*) AS n FROM folder_sync WHERE folder_id = $1", [PostgresValue(doomed)]) == 0)
            #expect(try await f.converged(mailbox, folder: "inbox", key: "inbox"))
            await fleet.stop()
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func mailToAnotherWatchedFolderDoesNotSyncInbox(dialect: SimDialect) async throws {
        try await FleetFixture.with("listmode", dialect: dialect, Self.single) { f in
            try await f.addAll(watch: { _ in .folders(["inbox", "sentitems"]) })
            let mailbox = f.allMailboxes[0]
            // A window long enough that the events of one delivery coalesce into one sync.
            let fleet = f.startSupervisor(coalescing: .milliseconds(300))
            try await f.waitUntil("both folders converged and their ids are known") {
                guard try await f.converged(mailbox, folder: "inbox", key: "inbox"),
                      try await f.converged(mailbox, folder: "sentitems", key: "sentitems")
                else { return false }
                return try await f.count("SELECT count(*) AS n FROM folder_sync WHERE ews_folder_id IS NOT NULL") == 2
            }
            let syncs = f.sim.world.statsSnapshot().count("SyncFolderItems", status: 200)
            let inboxSyncedAt = try await lastSync(f, "inbox")
            let ids = try f.sim.world.deliver(mailbox: mailbox, count: 2, folder: "sentitems")
            try await f.waitUntil("the sent items are committed") { try await f.changeCount(ids) == 2 }
            // Only sentitems was synced: one SyncFolderItems, and inbox's last sync did not move.
            #expect(f.sim.world.statsSnapshot().count("SyncFolderItems", status: 200) == syncs + 1)
            #expect(try await lastSync(f, "inbox") == inboxSyncedAt)
            #expect(try await f.converged(mailbox, folder: "sentitems", key: "sentitems"))

            // Mail to inbox syncs inbox (the mapping works both ways).
            let inboxIDs = try f.sim.world.deliver(mailbox: mailbox, count: 1, folder: "inbox")
            try await f.waitUntil("the inbox mail is committed") { try await f.changeCount(inboxIDs) == 1 }
            #expect(try await lastSync(f, "inbox") != inboxSyncedAt)
            await fleet.stop()
        }
    }

    func lastSync(_ f: FleetFixture, _ folder: String) async throws -> String? {
        try await f.pool.withConnection {
            try await $0.query("SELECT last_sync_at::text AS t FROM folder_sync WHERE folder_id = $1", [PostgresValue(folder)],
                               name: "t").rows.first?.decode("t", as: String?.self)
        }
    }
}
