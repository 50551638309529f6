import Foundation
@testable import Store
import TestSupport
import Testing
import Support

@Suite(.requiresDatabase) struct CheckpointWriterTests {
    @Test func aPageLandsMirrorChangesAndStateTogether() async throws {
        try await StoreFixture.with("cp") { f in
            let writer = CheckpointWriter(pool: f.pool)
            let (a, ca) = created("A")
            let (b, cb) = created("B")
            var first = f.checkpoint(state: "S1")
            first.upserts = [a, b]
            first.changes = [ca, cb]
            #expect(try await writer.commit(first).changesInserted == 2)

            var second = f.checkpoint(state: "S2")
            second.readFlags = [ReadFlagUpdate(itemID: "A", changeKey: "ck2", isRead: true)]
            second.deletes = ["B"]
            second.changes = [
                ChangeRecord(folderID: "inbox", itemID: "A", changeKey: "ck2", kind: .readFlag, isRead: true),
                ChangeRecord(folderID: "inbox", itemID: "B", changeKey: "", kind: .deleted),
            ]
            #expect(try await writer.commit(second).changesInserted == 2)

            let mirror = try await MirrorRepository(pool: f.pool).mirror(mailboxID: f.mailbox.id, folderID: "inbox")
            #expect(mirror == ["A": .init(changeKey: "ck2", isRead: true)])
            #expect(try await SyncStateRepository(pool: f.pool).syncStates(mailboxID: f.mailbox.id) == ["inbox": "S2"])
            let kinds = try await f.pool.withConnection {
                try await $0.query("SELECT kind FROM changes ORDER BY txid, id", name: "t").rows.map { try $0.decode("kind", as: String.self) }
            }
            #expect(kinds == ["created", "created", "read_flag", "deleted"])
            let subject: String = try await f.scalar("SELECT subject AS v FROM items WHERE item_id = 'A'")
            #expect(subject == "hello")  // a read-flag change keeps the other properties
        }
    }

    /// Migration 13: a search folder lists items under the ids of their real folders, so one item
    /// is mirrored twice, and each folder's writes touch only its own row.
    @Test func oneItemIsMirroredInTwoFoldersApart() async throws {
        try await StoreFixture.with("twice") { f in
            let writer = CheckpointWriter(pool: f.pool)
            let search = "search:Unread Mail"
            let (a, ca) = created("A")
            var inbox = f.checkpoint(state: "S1")
            inbox.upserts = [a]
            inbox.changes = [ca]
            try await writer.commit(inbox)
            var listed = f.checkpoint(search, state: "", step: "search:1")
            var inSearch = a
            inSearch.folderID = search
            listed.upserts = [inSearch]
            listed.changes = [ChangeRecord(folderID: search, itemID: "A", changeKey: "ck1", kind: .created, isRead: false)]
            #expect(try await writer.commit(listed).changesInserted == 1)
            // A read recorded for the inbox leaves the search folder's row as it was.
            var read = f.checkpoint(state: "S2")
            read.readFlags = [ReadFlagUpdate(itemID: "A", changeKey: "ck2", isRead: true)]
            read.changes = [ChangeRecord(folderID: "inbox", itemID: "A", changeKey: "ck2", kind: .readFlag, isRead: true)]
            try await writer.commit(read)
            let mirror = MirrorRepository(pool: f.pool)
            #expect(try await mirror.mirror(mailboxID: f.mailbox.id, folderID: search) == ["A": .init(changeKey: "ck1", isRead: false)])
            #expect(try await mirror.mirrorItems(mailboxID: f.mailbox.id, folderID: "inbox", itemIDs: ["A"])["A"]?.isRead == true)
            // The item leaves the search folder: only that row goes, with one deleted row.
            var left = f.checkpoint(search, state: "", step: "search:2")
            left.deletes = ["A"]
            left.changes = [ChangeRecord(folderID: search, itemID: "A", changeKey: "", kind: .deleted)]
            #expect(try await writer.commit(left).changesInserted == 1)
            #expect(try await mirror.mirror(mailboxID: f.mailbox.id, folderID: search).isEmpty)
            #expect(try await mirror.mirror(mailboxID: f.mailbox.id, folderID: "inbox") == ["A": .init(changeKey: "ck2", isRead: true)])
        }
    }

    @Test func aReplayedPageInsertsNothingTwice() async throws {
        try await StoreFixture.with("replay") { f in
            let writer = CheckpointWriter(pool: f.pool)
            let (a, ca) = created("A")
            let (b, cb) = created("B")
            var first = f.checkpoint(state: "S1")
            first.upserts = [a, b]
            first.changes = [ca, cb]
            #expect(try await writer.commit(first).changesInserted == 2)
            #expect(try await writer.commit(first).changesInserted == 0)
            var second = f.checkpoint(state: "S2")
            second.readFlags = [ReadFlagUpdate(itemID: "A", changeKey: "ck1", isRead: true)]
            second.deletes = ["B"]
            second.changes = [ChangeRecord(folderID: "inbox", itemID: "A", changeKey: "ck1", kind: .readFlag, isRead: true),
                              ChangeRecord(folderID: "inbox", itemID: "B", changeKey: "", kind: .deleted)]
            #expect(try await writer.commit(second).changesInserted == 2)
            #expect(try await writer.commit(second).changesInserted == 0)
            let n: Int = try await f.scalar("SELECT count(*) AS v FROM changes")
            #expect(n == 4)
        }
    }

    /// The server keeps the ChangeKey on read-state changes: every change is still one row.
    @Test func readUnreadReadWithOneChangeKeyIsThreeRows() async throws {
        try await StoreFixture.with("same_ck") { f in
            let writer = CheckpointWriter(pool: f.pool)
            let (a, ca) = created("A")
            var first = f.checkpoint(state: "S0")
            first.upserts = [a]
            first.changes = [ca]
            try await writer.commit(first)
            for (n, isRead) in [true, false, true].enumerated() {
                var cp = f.checkpoint(state: "S\(n + 1)")
                cp.readFlags = [ReadFlagUpdate(itemID: "A", changeKey: "ck1", isRead: isRead)]
                cp.changes = [ChangeRecord(folderID: "inbox", itemID: "A", changeKey: "ck1", kind: .readFlag, isRead: isRead)]
                #expect(try await writer.commit(cp).changesInserted == 1)
            }
            let flags = try await f.pool.withConnection {
                try await $0.query("SELECT is_read FROM changes WHERE kind = 'read_flag' ORDER BY txid, id", name: "t")
                    .rows.map { try $0.decode("is_read", as: Bool.self) }
            }
            #expect(flags == [true, false, true])
        }
    }

    @Test func aDeleteOfAnItemTheFolderNeverHadRecordsNothing() async throws {
        try await StoreFixture.with("del_unknown") { f in
            let writer = CheckpointWriter(pool: f.pool)
            var first = f.checkpoint("AQMkArchive", state: "S1")
            first.upserts = [MirrorItem(folderID: "AQMkArchive", itemID: "A", changeKey: "ck1")]
            first.changes = [ChangeRecord(folderID: "AQMkArchive", itemID: "A", changeKey: "ck1", kind: .created)]
            try await writer.commit(first)
            // The inbox never had Z, nor A (which is in another folder): nothing leaves the inbox.
            var cp = f.checkpoint(state: "S2")
            cp.deletes = ["Z", "A"]
            cp.changes = [ChangeRecord(folderID: "inbox", itemID: "Z", changeKey: "", kind: .deleted),
                          ChangeRecord(folderID: "inbox", itemID: "A", changeKey: "", kind: .deleted)]
            #expect(try await writer.commit(cp).changesInserted == 0)
            let kept: Int = try await f.scalar("SELECT count(*) AS v FROM items WHERE item_id = 'A'")
            #expect(kept == 1)
        }
    }

    @Test func largeSyncStatesAreStoredWhole() async throws {
        try await StoreFixture.with("bigstate") { f in
            let state = String(repeating: "H4sIAAAAAAAEAO29B2AcSZYlJi9tynt", count: 40_000) + "=="  // ~1.3 MB
            try await CheckpointWriter(pool: f.pool).commit(f.checkpoint(state: state))
            #expect(try await SyncStateRepository(pool: f.pool).syncStates(mailboxID: f.mailbox.id)["inbox"] == state)
        }
    }

    @Test func aKilledConnectionCommitsNothingAndThePoolRecovers() async throws {
        try await StoreFixture.with("kill") { f in
            let (a, ca) = created("A")
            var cp = f.checkpoint(state: "S-killed")
            cp.upserts = [a]
            cp.changes = [ca]
            let killer = f.database.pool(size: 1)
            await #expect(performing: {
                try await f.pool.withTransaction { conn in
                    _ = try await CheckpointWriter.write(cp, on: conn)
                    let pid: Int = try await conn.query("SELECT pg_backend_pid() AS pid", name: "pid").rows[0].decode("pid")
                    try await killer.withConnection {
                        try await $0.query("SELECT pg_terminate_backend($1)", [PostgresValue(pid)], name: "kill")
                    }
                }
            }, throws: { ($0 as? PostgresError)?.isRetryable == true })
            await killer.shutdown()
            let changes: Int = try await f.scalar("SELECT count(*) AS v FROM changes")
            let items: Int = try await f.scalar("SELECT count(*) AS v FROM items")
            let states: Int = try await f.scalar("SELECT count(*) AS v FROM folder_sync")
            #expect(changes == 0 && items == 0 && states == 0)
            // The same page commits fine afterwards.
            #expect(try await CheckpointWriter(pool: f.pool).commit(cp).changesInserted == 1)
        }
    }

    @Test func aStaleLeaseHolderCannotCommit() async throws {
        try await StoreFixture.with("lease") { f in
            let leases = LeaseRepository(pool: f.pool)
            let old = try #require(try await leases.acquire(tenantID: f.tenant.id, holder: LeaseHolder(instanceID: "old", run: "1"),
                                                            ttl: .milliseconds(1)))
            try await f.pool.withConnection { try await $0.query("SELECT pg_sleep(0.01)", name: "t") }
            let new = try #require(try await leases.acquire(tenantID: f.tenant.id, holder: LeaseHolder(instanceID: "new", run: "1"),
                                                            ttl: .seconds(30)))
            let (a, ca) = created("A")
            var stale = f.checkpoint(state: "stale", lease: old)
            stale.upserts = [a]
            stale.changes = [ca]
            await #expect(throws: LeaseLostError.self) { try await CheckpointWriter(pool: f.pool).commit(stale) }
            let n: Int = try await f.scalar("SELECT count(*) AS v FROM changes")
            #expect(n == 0)
            var fresh = stale
            fresh.lease = new
            #expect(try await CheckpointWriter(pool: f.pool).commit(fresh).changesInserted == 1)
        }
    }

    /// `mailbox update` stopped watching a folder while its sync ran: the late page is refused
    /// whole, so a purge (or the frozen mirror of the folder) is never changed behind the user's back.
    @Test func aPageOfAFolderNoLongerWatchedIsRefused() async throws {
        try await StoreFixture.with("folder_fence") { f in
            let lease = try #require(try await LeaseRepository(pool: f.pool).acquire(
                tenantID: f.tenant.id, holder: LeaseHolder(instanceID: "i", run: "1"), ttl: .seconds(30)))
            let (a, ca) = created("A")
            var page = f.checkpoint(state: "S1", lease: lease)
            page.upserts = [a]
            page.changes = [ca]
            var update = MailboxUpdate()
            update.addFolders = ["sentitems"]
            update.removeFolders = ["inbox"]
            _ = try await MailboxRepository(pool: f.pool).update(tenant: f.tenant.name, smtpAddress: f.mailbox.smtpAddress, update)
            await #expect(throws: FolderNotWatchedError.self) { try await CheckpointWriter(pool: f.pool).commit(page) }
            #expect(try await f.scalar("SELECT count(*) AS v FROM changes") as Int == 0)
            #expect(try await f.scalar("SELECT count(*) AS v FROM items") as Int == 0)
            #expect(try await f.scalar("SELECT count(*) AS v FROM folder_sync") as Int == 0)
            // Watched again: the same page commits.
            update = MailboxUpdate()
            update.addFolders = ["inbox"]
            _ = try await MailboxRepository(pool: f.pool).update(tenant: f.tenant.name, smtpAddress: f.mailbox.smtpAddress, update)
            let committed = try await CheckpointWriter(pool: f.pool).commit(page)
            #expect(committed.changesInserted == 1)
        }
    }

    /// Purge: every folder no longer watched leaves the mirror with one `deleted` row per item, and
    /// its SyncState goes; without it both stay.
    @Test func aPurgeDeletesWhatLeavesAndOnlyThat() async throws {
        try await StoreFixture.with("folder_purge") { f in
            for (folder, id) in [("inbox", "A"), ("inbox", "B"), ("sentitems", "C")] {
                var (item, change) = created(id)
                item.folderID = folder
                change.folderID = folder
                var cp = f.checkpoint(folder, state: "S-\(id)")
                cp.upserts = [item]
                cp.changes = [change]
                try await CheckpointWriter(pool: f.pool).commit(cp)
            }
            let repo = MailboxRepository(pool: f.pool)
            var update = MailboxUpdate()
            update.addFolders = ["drafts"]
            update.removeFolders = ["inbox"]
            let kept = try await repo.update(tenant: f.tenant.name, smtpAddress: f.mailbox.smtpAddress, update)
            #expect(kept.unwatched == ["inbox", "sentitems"] && kept.purgedItems == 0)
            #expect(try await f.scalar("SELECT count(*) AS v FROM items") as Int == 3)
            update = MailboxUpdate()
            update.removeFolders = ["drafts"]
            update.addFolders = ["inbox"]
            update.purge = true
            let purged = try await repo.update(tenant: f.tenant.name, smtpAddress: f.mailbox.smtpAddress, update)
            #expect(purged.unwatched == ["drafts", "sentitems"] && purged.purgedItems == 1)
            let deleted: Int = try await f.scalar("SELECT count(*) AS v FROM changes WHERE kind = 'deleted' AND item_id = 'C'")
            #expect(deleted == 1)
            let left: String = try await f.scalar("SELECT string_agg(folder_id || ':' || item_id, ',' ORDER BY item_id) AS v FROM items")
            #expect(left == "inbox:A,inbox:B")
            let states: String = try await f.scalar("SELECT string_agg(folder_id, ',' ORDER BY folder_id) AS v FROM folder_sync")
            #expect(states == "inbox")
        }
    }

    @Test func injectionStringsInEveryTextInputAreStoredVerbatim() async throws {
        try await StoreFixture.with("inject") { f in
            let nasty = ["'; DROP TABLE changes; --", "\") OR 1=1 --", "{\"a\",NULL}", "\\x00\\", "$1::text", "💥\n\t'\""]
            for (i, text) in nasty.enumerated() {
                let tenant = try await TenantRepository(pool: f.pool).add(
                    NewTenant(name: "t\(i)", ewsURL: "https://x.example/\(text)", authKind: .oauth2, identity: text,
                              tokenURL: "https://idp.example/\(text)", scope: text, caBundle: text),
                    secret: Secret(text), keyring: f.keyring)
                let back = try await TenantRepository(pool: f.pool).require(name: "t\(i)")
                #expect(back.identity == text && back.scope == text && back.caBundle == text && back == tenant)
                #expect(try f.keyring.open(#require(back.sealedSecret), tenant: back.name).unredactedValue == text)

                var cp = f.checkpoint(text, state: text)
                let props = try JSONSerialization.data(withJSONObject: ["subject": text])
                cp.upserts = [MirrorItem(folderID: text, itemID: "id\(text)", changeKey: text, subject: text, sender: text)]
                cp.changes = [ChangeRecord(folderID: text, itemID: "id\(text)", changeKey: text, kind: .created, properties: props)]
                try await CheckpointWriter(pool: f.pool).commit(cp)
                let row = try await f.pool.withConnection {
                    try await $0.query("SELECT c.folder_id, c.change_key, c.properties->>'subject' AS subject, i.sender FROM changes c JOIN items i USING (item_id) WHERE c.item_id = $1",
                                       [PostgresValue("id\(text)")], name: "t").rows[0]
                }
                #expect(try row.decode("folder_id", as: String.self) == text)
                #expect(try row.decode("change_key", as: String.self) == text)
                #expect(try row.decode("subject", as: String.self) == text)
                #expect(try row.decode("sender", as: String.self) == text)
                #expect(try await SyncStateRepository(pool: f.pool).syncStates(mailboxID: f.mailbox.id)[text] == text)
            }
            // Names with a fixed syntax reject such strings cleanly instead of storing them.
            await #expect(throws: StoreError.self) {
                try await TenantRepository(pool: f.pool).add(
                    NewTenant(name: nasty[0], ewsURL: "https://x.example", authKind: .basic, identity: "u"),
                    secret: nil, keyring: f.keyring)
            }
            let tables: Int = try await f.scalar("SELECT count(*) AS v FROM pg_tables WHERE tablename = 'changes'")
            #expect(tables == 1)
        }
    }
}
