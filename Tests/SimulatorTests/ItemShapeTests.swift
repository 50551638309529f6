import Foundation
import Testing
@testable import Simulator

/// IdOnly with AdditionalProperties answers the ids and exactly the properties asked for, as
/// Exchange does (a client that reads a property it did not ask for finds nothing); Default gives
/// the summary set.
@Suite struct ItemShapeTests {
    static func items(_ xml: String) throws -> [SimXMLNode] {
        try Soap.messages(xml).flatMap { message in
            (message.child(NS.messages, "Changes")?.children ?? []).compactMap { $0.children.first }
                + (message.child(NS.messages, "Items")?.children ?? [])
        }
    }

    @Test func idOnlyWithIsReadGivesTheIdAndTheReadStateOnly() async throws {
        try await SimFixture.with { sim in
            let mailbox = sim.tenants[0].mailboxes[0]
            let body = Soap.envelope("<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
                                     + "<t:FieldURI FieldURI=\"message:IsRead\"/></t:AdditionalProperties></m:ItemShape>"
                                     + "<m:SyncFolderId><t:DistinguishedFolderId Id=\"inbox\"/></m:SyncFolderId>"
                                     + "<m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>", impersonate: mailbox)
            let items = try Self.items(try await sim.ews(body).body)
            #expect(!items.isEmpty)
            for item in items { #expect(item.children.map(\.localName) == ["ItemId", "IsRead"]) }

            let ids = items.compactMap { $0.child(NS.types, "ItemId")?.attribute("Id") }
            let summary = Soap.envelope("<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
                                        + "<t:FieldURI FieldURI=\"item:Subject\"/><t:FieldURI FieldURI=\"message:IsRead\"/>"
                                        + "<t:FieldURI FieldURI=\"item:Size\"/></t:AdditionalProperties></m:ItemShape><m:ItemIds>"
                                        + "<t:ItemId Id=\"\(ids[0])\"/></m:ItemIds></m:GetItem>", impersonate: mailbox)
            let fetched = try Self.items(try await sim.ews(summary).body)
            #expect(fetched.map { $0.children.map(\.localName) } == [["ItemId", "Subject", "Size", "IsRead"]], "schema order")
            let full = try Self.items(try await sim.ews(Soap.getItem([ids[0]], impersonate: mailbox)).body)
            #expect(full.first?.children.count ?? 0 > 20)
        }
    }
}
