import Foundation
import Testing
@testable import Simulator

/// ews-sim's search folders: defined by a restriction over base folders, their content follows
/// the items; FindFolder finds them under searchfolders, FindItem lists them (last modified first
/// when asked), SyncFolderItems refuses them, and a subscription that names one hears items enter,
/// change in and leave it.
@Suite struct SearchFolderSimTests {
    static func findItem(_ folderID: String, mailbox: String, order: String = "Descending") -> String {
        Soap.envelope("<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
                      + "<t:FieldURI FieldURI=\"message:IsRead\"/></t:AdditionalProperties></m:ItemShape>"
                      + "<m:IndexedPageItemView MaxEntriesReturned=\"1000\" Offset=\"0\" BasePoint=\"Beginning\"/>"
                      + "<m:SortOrder><t:FieldOrder Order=\"\(order)\"><t:FieldURI FieldURI=\"item:LastModifiedTime\"/></t:FieldOrder></m:SortOrder>"
                      + "<m:ParentFolderIds><t:FolderId Id=\"\(folderID)\"/></m:ParentFolderIds></m:FindItem>", impersonate: mailbox)
    }

    static func ids(_ body: String) throws -> [String] {
        let root = try #require(try Soap.messages(body).first?.child(NS.messages, "RootFolder"))
        return (root.child(NS.types, "Items")?.children ?? []).compactMap { $0.child(NS.types, "ItemId")?.attribute("Id") }
    }

    @Test func contentFollowsTheItemsAndFindItemListsItLastModifiedFirst() async throws {
        try await SimFixture.with({ $0.itemsPerMailbox = 0 }) { sim in
            let mailbox = sim.tenants[0].mailboxes[0]
            let folder = try sim.world.createSearchFolder(mailbox: mailbox, name: "Unread Mail")
            let ids = try sim.world.deliver(mailbox: mailbox, count: 4)
            _ = try sim.world.deliver(mailbox: mailbox, folder: "sentitems")  // not a base folder
            try sim.world.setRead(itemId: ids[1], true)                          // leaves
            try sim.world.updateItem(itemId: ids[0])                             // modified last
            let truth = try sim.world.items(mailbox: mailbox, folder: "Unread Mail").map(\.itemId)
            #expect(Set(truth) == [ids[0], ids[2], ids[3]])
            let listed = try Self.ids(try await sim.ews(Self.findItem(folder, mailbox: mailbox)).body)
            // Items keep their real ids; the one changed last comes first.
            #expect(listed == [ids[0], ids[3], ids[2]])
            let ascending = try Self.ids(try await sim.ews(Self.findItem(folder, mailbox: mailbox, order: "Ascending")).body)
            #expect(ascending == listed.reversed())
            try sim.world.setRead(itemId: ids[1], false)                         // enters again
            #expect(try Self.ids(try await sim.ews(Self.findItem(folder, mailbox: mailbox)).body).first == ids[1])
            #expect(throws: SimError.self) { try sim.world.deliver(mailbox: mailbox, folder: "Unread Mail") }
        }
    }

    @Test func findFolderFindsItAndSyncFolderItemsRefusesIt() async throws {
        try await SimFixture.with({ $0.itemsPerMailbox = 3; $0.unreadSearchFolder = "Unread Mail" }) { sim in
            let mailbox = sim.tenants[0].mailboxes[0]
            let find = Soap.envelope("<m:FindFolder Traversal=\"Shallow\"><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
                                     + "<m:IndexedPageFolderView MaxEntriesReturned=\"10\" Offset=\"0\" BasePoint=\"Beginning\"/>"
                                     + "<m:ParentFolderIds><t:DistinguishedFolderId Id=\"searchfolders\"/></m:ParentFolderIds></m:FindFolder>",
                                     impersonate: mailbox)
            let root = try #require(try Soap.messages(try await sim.ews(find).body).first?.child(NS.messages, "RootFolder"))
            #expect(root.attribute("IncludesLastItemInRange") == "true")
            let found = try #require(root.child(NS.types, "Folders")?.children.first)
            #expect(found.localName == "SearchFolder")
            #expect(found.child(NS.types, "DisplayName")?.text == "Unread Mail")
            let id = try #require(found.child(NS.types, "FolderId")?.attribute("Id"))
            let sync = Soap.envelope("<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
                                     + "<m:SyncFolderId><t:FolderId Id=\"\(id)\"/></m:SyncFolderId>"
                                     + "<m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>", impersonate: mailbox)
            #expect(try await sim.ews(sync).body.contains("ErrorInvalidOperation"))
            // The mail tree's hierarchy does not list it.
            let hierarchy = Soap.envelope("<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
                                          + "<m:SyncFolderId><t:DistinguishedFolderId Id=\"msgfolderroot\"/></m:SyncFolderId>"
                                          + "</m:SyncFolderHierarchy>", impersonate: mailbox)
            #expect(!(try await sim.ews(hierarchy).body.contains("Unread Mail")))
        }
    }

    @Test func aSubscriptionNamingItHearsItemsEnterChangeAndLeave() async throws {
        try await SimFixture.with({ $0.itemsPerMailbox = 0 }) { sim in
            let mailbox = sim.tenants[0].mailboxes[0]
            let folder = try sim.world.createSearchFolder(mailbox: mailbox, name: "Unread Mail")
            let (named, _) = try await sim.subscribe(mailbox, folders: "<t:FolderId Id=\"\(folder)\"/>")
            let all = try Soap.messages(try await sim.ews(Soap.subscribeAllFolders(mailbox)).body)[0]
                .child(NS.messages, "SubscriptionId")?.trimmedText ?? ""
            let id = try #require(try sim.world.deliver(mailbox: mailbox).first)
            try sim.world.updateItem(itemId: id)
            try sim.world.setRead(itemId: id, true)
            func heard(_ subscription: String) -> [String] {
                sim.world.lock.withLock {
                    (sim.world.subscriptions[Subscription.Key(tenant: 0, id: subscription)]?.queue ?? [])
                        .filter { $0.parentFolderId == folder }.map(\.kind.rawValue)
                }
            }
            #expect(heard(named) == ["CreatedEvent", "ModifiedEvent", "DeletedEvent"])
            #expect(heard(all).isEmpty)
        }
    }
}
