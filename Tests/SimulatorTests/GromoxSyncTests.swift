import Foundation
import Testing
@testable import Simulator

/// SyncFolderItems, SyncFolderHierarchy and GetFolder in the gromox dialect.
@Suite struct GromoxSyncTests {
    let mailbox = "user1@tenant1.example"

    func changes(_ xml: String) throws -> [SimXMLNode] {
        try Soap.messages(xml)[0].child(NS.messages, "Changes")?.children ?? []
    }

    @Test(arguments: [SimDialect.exchange, .gromox])
    func aReadChangeSyncsAsAnUpdateWithANewChangeKeyInGromox(dialect: SimDialect) async throws {
        try await SimFixture.with({ $0.dialect = dialect; $0.itemsPerMailbox = 0 }) { sim in
            let id = try sim.world.deliver(mailbox: mailbox)[0]
            let first = try Soap.messages(try await sim.ews(Soap.syncFolderItems(mailbox)).body)[0]
            let state = try #require(first.child(NS.messages, "SyncState")?.trimmedText)
            let before = try #require(first.child(NS.messages, "Changes")?.children.first?.children.first?
                .child(NS.types, "ItemId")?.attribute("ChangeKey"))
            try sim.world.setRead(itemId: id, true)
            let change = try #require(try changes(try await sim.ews(Soap.syncFolderItems(mailbox, state: state)).body).first)
            switch dialect {
            case .exchange:
                #expect(change.localName == "ReadFlagChange")
                #expect(change.child(NS.types, "IsRead")?.trimmedText == "true")
            case .gromox:
                #expect(change.localName == "Update")
                let itemId = try #require(change.children.first?.child(NS.types, "ItemId"))
                #expect(itemId.attribute("Id") == id)
                #expect(itemId.attribute("ChangeKey") != before)
            }
        }
    }

    static func hierarchy(_ shape: String) -> String {
        Soap.envelope("<m:SyncFolderHierarchy><m:FolderShape>\(shape)</m:FolderShape>"
                      + "<m:SyncFolderId><t:DistinguishedFolderId Id=\"msgfolderroot\"/></m:SyncFolderId></m:SyncFolderHierarchy>",
                      impersonate: "user1@tenant1.example")
    }

    @Test func gromoxNamesAFolderClassOnlyWhenAskedForItByName() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            for shape in ["<t:BaseShape>IdOnly</t:BaseShape>", "<t:BaseShape>Default</t:BaseShape>"] {
                let body = try await sim.ews(Self.hierarchy(shape)).body
                #expect(try changes(body).count >= 5)
                #expect(!body.contains("FolderClass"), "\(shape)")
            }
            // As captured: IdOnly plus folder:FolderClass and folder:DisplayName gives exactly those.
            let asked = try await sim.ews(Self.hierarchy("<t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
                + "<t:FieldURI FieldURI=\"folder:FolderClass\"/><t:FieldURI FieldURI=\"folder:DisplayName\"/></t:AdditionalProperties>")).body
            let inbox = try #require(try changes(asked).compactMap { $0.children.first }
                .first { $0.child(NS.types, "DisplayName")?.trimmedText == "Inbox" })
            #expect(inbox.children.map(\.localName) == ["FolderId", "FolderClass", "DisplayName"])
            #expect(inbox.child(NS.types, "FolderClass")?.trimmedText == "IPF.Note")
            // AllProperties adds the parent, by id only (01b of the capture).
            let all = try await sim.ews(Self.hierarchy("<t:BaseShape>AllProperties</t:BaseShape>")).body
            #expect(all.contains("<t:DisplayName>Inbox</t:DisplayName>") && all.contains("<t:FolderClass>IPF.Note</t:FolderClass>"))
            #expect(all.range(of: #"<t:ParentFolderId Id="[^"]*"/><t:FolderClass>"#, options: .regularExpression) != nil)
        }
    }

    @Test func exchangeWritesAFolderClassInItsDefaultShape() async throws {
        try await SimFixture.with { sim in
            let body = try await sim.ews(Self.hierarchy("<t:BaseShape>Default</t:BaseShape>")).body
            #expect(body.contains("<t:FolderClass>IPF.Note</t:FolderClass>"))
        }
    }

    /// 01-GetFolder-inbox of the capture: Default gives id, name and counts, nothing else.
    @Test func getFolderDefaultIsGromoxsDefault() async throws {
        try await SimFixture.with({ $0.dialect = .gromox; $0.itemsPerMailbox = 0 }) { sim in
            let body = try await sim.ews(Soap.envelope("<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
                + "<m:FolderIds><t:DistinguishedFolderId Id=\"inbox\"/></m:FolderIds></m:GetFolder>", impersonate: mailbox)).body
            let folder = try #require(try Soap.messages(body)[0].child(NS.messages, "Folders")?.children.first)
            #expect(folder.children.map(\.localName) == ["FolderId", "DisplayName", "TotalCount", "ChildFolderCount", "UnreadCount"])
            #expect(body.contains("<t:TotalCount>0</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount><t:UnreadCount>0</t:UnreadCount></t:Folder>"))
        }
    }

    @Test func anEmptyChangeListIsAnEmptyElement() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            let first = try Soap.messages(try await sim.ews(Soap.syncFolderItems(mailbox)).body)[0]
            let state = try #require(first.child(NS.messages, "SyncState")?.trimmedText)
            let body = try await sim.ews(Soap.syncFolderItems(mailbox, state: state)).body
            #expect(body.contains("</m:IncludesLastItemInRange><m:Changes/></m:SyncFolderItemsResponseMessage>"))
        }
    }
}
