import Foundation
import Store
import TestSupport
import Testing

@Suite(.requiresDatabase) struct FolderRepositoryTests {
    func hierarchyCheckpoint(_ f: StoreFixture, state: String?, lease: LeaseToken? = nil) -> FolderRepository.HierarchyCheckpoint {
        FolderRepository.HierarchyCheckpoint(lease: lease, tenant: f.tenant.name, mailboxID: f.mailbox.id,
                                             mailbox: f.mailbox.smtpAddress, syncState: state,
                                             observedAt: Date(timeIntervalSince1970: 1_790_000_000))
    }

    @Test func folderIdsArePersistedPerMailboxAndKeepTheSyncState() async throws {
        try await StoreFixture.with("folderids") { f in
            try await CheckpointWriter(pool: f.pool).commit(f.checkpoint(state: "S1"))
            let folders = FolderRepository(pool: f.pool)
            let lease = try #require(try await LeaseRepository(pool: f.pool).acquire(
                tenantID: f.tenant.id, holder: LeaseHolder(instanceID: "i", run: "1"), ttl: .seconds(30)))
            try await folders.saveFolderIDs(mailboxID: f.mailbox.id, ["inbox": "AQMkInbox", "sentitems": "AQMkSent"], lease: lease)
            #expect(try await folders.folderIDs(tenantID: f.tenant.id) == [f.mailbox.id: ["AQMkInbox": "inbox", "AQMkSent": "sentitems"]])
            let states = try await SyncStateRepository(pool: f.pool).syncStates(mailboxID: f.mailbox.id)
            #expect(states == ["inbox": "S1", "sentitems": ""])
        }
    }

    @Test func theHierarchyStateLivesUnderItsReservedKeyBesideTheFolders() async throws {
        try await StoreFixture.with("hierarchy") { f in
            let folders = FolderRepository(pool: f.pool)
            #expect(try await folders.hierarchy(mailboxID: f.mailbox.id).syncState == nil)
            var cp = hierarchyCheckpoint(f, state: "H1")
            cp.upserts = [.init(key: "inbox", ewsID: "AQMkInbox", displayName: "Inbox"),
                          .init(key: "AQMkProjects", ewsID: "AQMkProjects", displayName: "Projects")]
            try await folders.commit(cp)
            let hierarchy = try await folders.hierarchy(mailboxID: f.mailbox.id)
            #expect(hierarchy.syncState == "H1")
            #expect(hierarchy.folders.map(\.key) == ["AQMkProjects", "inbox"])
            // The reserved row is not a folder: it maps no id and is not returned as one.
            #expect(try await folders.folderIDs(tenantID: f.tenant.id)[f.mailbox.id]?.count == 2)
        }
    }

    @Test func aDroppedFolderLeavesTheMirrorWithOneDeletedRowPerItem() async throws {
        try await StoreFixture.with("dropfolder") { f in
            let writer = CheckpointWriter(pool: f.pool)
            var page = f.checkpoint("AQMkProjects", state: "P1")
            for id in ["A", "B"] {
                var (item, change) = created(id)
                item.folderID = "AQMkProjects"
                change.folderID = "AQMkProjects"
                page.upserts.append(item)
                page.changes.append(change)
            }
            try await writer.commit(page)
            let (c, cc) = created("C")
            var inbox = f.checkpoint(state: "S1")
            inbox.upserts = [c]
            inbox.changes = [cc]
            try await writer.commit(inbox)

            let folders = FolderRepository(pool: f.pool)
            var drop = hierarchyCheckpoint(f, state: "H2")
            drop.drops = ["AQMkProjects"]
            #expect(try await folders.commit(drop) == 2)
            #expect(try await folders.commit(drop) == 0)  // replayed: nothing twice
            let left: Int = try await f.scalar("SELECT count(*) AS v FROM items")
            #expect(left == 1)
            let deleted: Int = try await f.scalar(
                "SELECT count(*) AS v FROM changes WHERE kind = 'deleted' AND folder_id = 'AQMkProjects' AND item_id IN ('A', 'B')")
            #expect(deleted == 2)
            let rows: Int = try await f.scalar("SELECT count(*) AS v FROM folder_sync WHERE folder_id = 'AQMkProjects'")
            #expect(rows == 0)
        }
    }

    @Test func aStaleLeaseCommitsNoHierarchy() async throws {
        try await StoreFixture.with("hierarchylease") { f in
            var cp = hierarchyCheckpoint(f, state: "H1", lease: LeaseToken(tenantID: f.tenant.id, holder: LeaseHolder(instanceID: "gone", run: "1"), epoch: 9))
            cp.drops = ["inbox"]
            await #expect(throws: LeaseLostError.self) { try await FolderRepository(pool: f.pool).commit(cp) }
            let stored = try await FolderRepository(pool: f.pool).hierarchy(mailboxID: f.mailbox.id)
            #expect(stored.syncState == nil)
        }
    }
}
