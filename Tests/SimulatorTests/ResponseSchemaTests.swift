import Foundation
import TestSupport
import Testing
@testable import Simulator

/// ews-sim's own responses must be valid EWS: every body is checked against the official schema
/// (wire-compat variant, which allows the real-wire m:Notification / m:SubscriptionId forms).
@Suite(.requiresSchema) struct ResponseSchemaTests {
    static var wireCompat: String { (SimFixture.schemaDirectory ?? EWSSchemaDirectory.expected) + "/wire-compat" }

    func expectValid(_ xml: String, _ label: String) throws {
        let validator = try SchemaValidator.shared(schemaDirectory: Self.wireCompat)
        if case .failure(let error) = SimXMLParser.parse(Array(xml.utf8), validator: validator) {
            Issue.record("\(label) invalid: \(error.message) (line \(error.line))\n\(xml.prefix(3000))")
        }
    }

    /// Control: the check is strict for response bodies (so the tests above can fail).
    @Test func misorderedResponseIsRejected() throws {
        let bad = EWSEnvelope.response("GetItem") { w in
            EWSEnvelope.message(&w, "GetItem") { w in
                w.element("m:Items") { w in
                    w.element("t:Message") { w in
                        w.element("t:Subject", "x")
                        w.empty("t:ItemId", ["Id": "a"])
                    }
                }
            }
        }
        let validator = try SchemaValidator.shared(schemaDirectory: Self.wireCompat)
        guard case .failure = SimXMLParser.parse(Array(bad.utf8), validator: validator) else {
            Issue.record("misordered response accepted")
            return
        }
    }

    @Test func normalResponsesValidate() async throws {
        try await SimFixture.with { sim in
            let mailbox = "user1@tenant1.example"
            let ids = try sim.world.deliver(mailbox: mailbox, count: 3)
            try sim.world.setRead(itemId: ids[0], true)
            let sync1 = try await sim.ews(Soap.syncFolderItems(mailbox))
            try expectValid(sync1.body, "SyncFolderItems")
            let state = try Soap.messages(sync1.body)[0].child(NS.messages, "SyncState")!.trimmedText
            try sim.world.setRead(itemId: ids[1], true)
            try sim.world.updateItem(itemId: ids[2])
            try sim.world.deleteItem(itemId: ids[0], hard: true)
            try expectValid(try await sim.ews(Soap.syncFolderItems(mailbox, state: state)).body, "SyncFolderItems changes")
            try expectValid(try await sim.ews(Soap.syncFolderItems(mailbox, state: "bm9wZQ==")).body, "SyncFolderItems error")
            let defaultShape = Soap.syncFolderItems(mailbox).replacingOccurrences(of: "IdOnly", with: "Default")
            try expectValid(try await sim.ews(defaultShape).body, "SyncFolderItems Default")
            try expectValid(try await sim.ews(Soap.getItem([ids[1], ids[0]], impersonate: mailbox)).body, "GetItem")
            let extended = ItemShapeTests.getItem(ids, shape: "<t:BodyType>Text</t:BodyType><t:MaximumBodySize>1</t:MaximumBodySize>",
                                                  mailbox: mailbox)
            try expectValid(try await sim.ews(extended).body, "GetItem extended")
            let restricted = ItemShapeTests.findItem("<t:IsEqualTo><t:FieldURI FieldURI=\"item:Importance\"/><t:FieldURIOrConstant>"
                                                     + "<t:Constant Value=\"High\"/></t:FieldURIOrConstant></t:IsEqualTo>", mailbox: mailbox)
            try expectValid(try await sim.ews(restricted).body, "FindItem restricted")
            let find = Soap.envelope("<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>"
                + "<m:IndexedPageItemView MaxEntriesReturned=\"3\" Offset=\"0\" BasePoint=\"Beginning\"/>"
                + "<m:ParentFolderIds><t:DistinguishedFolderId Id=\"inbox\"/></m:ParentFolderIds></m:FindItem>", impersonate: mailbox)
            try expectValid(try await sim.ews(find).body, "FindItem")
            let folders = Soap.envelope("<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds>"
                + "<t:DistinguishedFolderId Id=\"inbox\"/><t:DistinguishedFolderId Id=\"calendar\"/><t:DistinguishedFolderId Id=\"nosuch\"/>"
                + "</m:FolderIds></m:GetFolder>", impersonate: mailbox)
            try expectValid(try await sim.ews(folders).body, "GetFolder")
            let hierarchy = Soap.envelope("<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
                + "</m:SyncFolderHierarchy>", impersonate: mailbox)
            try expectValid(try await sim.ews(hierarchy).body, "SyncFolderHierarchy")
            let convert = Soap.envelope("<m:ConvertId DestinationFormat=\"EwsId\"><m:SourceIds><t:AlternateId Format=\"EwsId\" Id=\"\(ids[1])\" Mailbox=\"\(mailbox)\"/>"
                + "<t:AlternateId Format=\"EwsId\" Id=\"x\" Mailbox=\"\(mailbox)\"/></m:SourceIds></m:ConvertId>")
            try expectValid(try await sim.ews(convert).body, "ConvertId")
            let subscribe = try await sim.ews(Soap.subscribe(mailbox, folders: "<t:DistinguishedFolderId Id=\"inbox\"/>"))
            try expectValid(subscribe.body, "Subscribe")
            let id = try Soap.messages(subscribe.body)[0].child(NS.messages, "SubscriptionId")!.trimmedText
            try expectValid(try await sim.ews(Soap.unsubscribe(id)).body, "Unsubscribe")
            try expectValid(try await sim.ews(Soap.unsubscribe(id)).body, "Unsubscribe error")
            try expectValid(try await sim.ews(Soap.getStreamingEvents([id], minutes: 31)).body, "schema fault")
        }
    }

    /// A hard-deleted folder: SyncFolderHierarchy reports it as a valid t:Delete once, and syncing
    /// its items fails as for any missing folder.
    @Test func aDeletedFolderIsAHierarchyDelete() async throws {
        try await SimFixture.with { sim in
            let mailbox = "user1@tenant1.example"
            let body = { (state: String?) in
                Soap.envelope("<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
                              + "<m:SyncFolderId><t:DistinguishedFolderId Id=\"msgfolderroot\"/></m:SyncFolderId>"
                              + (state.map { "<m:SyncState>\($0)</m:SyncState>" } ?? "") + "</m:SyncFolderHierarchy>",
                              impersonate: mailbox)
            }
            let folderId = try sim.world.createFolder(mailbox: mailbox, name: "Old")
            try sim.world.deliver(mailbox: mailbox, count: 2, folder: "Old")
            let first = try Soap.messages(try await sim.ews(body(nil)).body)[0]
            let state = try #require(first.child(NS.messages, "SyncState")?.trimmedText)
            try sim.world.deleteFolder(mailbox: mailbox, folder: "Old")
            let response = try await sim.ews(body(state)).body
            try expectValid(response, "SyncFolderHierarchy delete")
            let changes = try Soap.messages(response)[0].child(NS.messages, "Changes")?.children ?? []
            #expect(changes.map(\.localName) == ["Delete"])
            #expect(changes.first?.child(NS.types, "FolderId")?.attribute("Id") == folderId)
            let next = try #require(try Soap.messages(response)[0].child(NS.messages, "SyncState")?.trimmedText)
            #expect((try Soap.messages(try await sim.ews(body(next)).body)[0].child(NS.messages, "Changes")?.children.count ?? 0) == 0)
            #expect(throws: SimError.self) { try sim.world.items(mailbox: mailbox, folder: "Old") }
            #expect(throws: SimError.self) { try sim.world.deleteFolder(mailbox: mailbox, folder: "inbox") }
        }
    }

    @Test func streamingEnvelopesValidate() async throws {
        try await SimFixture.with({ $0.randomChunking = false }) { sim in
            let mailbox = "user1@tenant1.example"
            let (id, _) = try await sim.subscribe(mailbox)
            let stream = try await sim.stream(Soap.getStreamingEvents([id, "AAA-"], minutes: 1))
            _ = try await stream.readHead()
            let itemId = try sim.world.deliver(mailbox: mailbox)[0]
            _ = try sim.world.moveItem(itemId: itemId, toFolder: "deleteditems")
            sim.clock.advance(by: .seconds(60))
            var envelopes = 0
            while let envelope = await stream.nextEnvelope() {
                try expectValid(envelope, "stream envelope \(envelopes)")
                envelopes += 1
            }
            #expect(envelopes >= 4)  // OK, error, notifications…, Closed
        }
    }
}
