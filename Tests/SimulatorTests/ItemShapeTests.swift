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

    static func getItem(_ ids: [String], shape: String, mailbox: String) -> String {
        Soap.envelope("<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>\(shape)<t:AdditionalProperties>"
                      + "<t:FieldURI FieldURI=\"item:Body\"/><t:FieldURI FieldURI=\"item:Categories\"/>"
                      + "<t:FieldURI FieldURI=\"item:Importance\"/><t:FieldURI FieldURI=\"item:ConversationId\"/>"
                      + "<t:FieldURI FieldURI=\"message:CcRecipients\"/></t:AdditionalProperties></m:ItemShape><m:ItemIds>"
                      + ids.map { "<t:ItemId Id=\"\($0)\"/>" }.joined() + "</m:ItemIds></m:GetItem>", impersonate: mailbox)
    }

    /// A text body cut at MaximumBodySize kilobytes (whole characters) with IsTruncated, as Exchange
    /// 2013 and later do; gromox 3.10 does not implement MaximumBodySize and sends it whole.
    @Test(arguments: [SimDialect.exchange, .gromox])
    func aTextBodyIsCutAtMaximumBodySizeByExchangeOnly(dialect: SimDialect) async throws {
        try await SimFixture.with({ $0.dialect = dialect; $0.itemsPerMailbox = 0 }) { sim in
            let mailbox = sim.tenants[0].mailboxes[0]
            _ = try sim.world.deliver(mailbox: mailbox, count: 6)
            let contents = try sim.world.contents(mailbox: mailbox)
            let long = try #require(contents.first { $0.textBody.utf8.count > 1024 })
            let short = try #require(contents.first { $0.textBody.utf8.count < 1024 })
            let request = Self.getItem([long.itemId, short.itemId],
                                       shape: "<t:BodyType>Text</t:BodyType><t:MaximumBodySize>1</t:MaximumBodySize>",
                                       mailbox: mailbox)
            let items = try Self.items(try await sim.ews(request).body)
            #expect(items.count == 2)
            let bodies = items.map { $0.child(NS.types, "Body") }
            #expect(bodies.map { $0?.attribute("BodyType") } == ["Text", "Text"])
            #expect(bodies[1]?.text == short.textBody && bodies[1]?.attribute("IsTruncated") == "false")
            let cut = try #require(bodies[0]?.text)
            if dialect == .gromox {
                #expect(cut == long.textBody && bodies[0]?.attribute("IsTruncated") == "false")
            } else {
                #expect(long.textBody.hasPrefix(cut) && cut.utf8.count <= 1024 && cut.utf8.count > 1000)
                #expect(bodies[0]?.attribute("IsTruncated") == "true")
            }
            // Empty lists are left out, as Exchange does; the other properties follow the truth.
            for (node, truth) in zip(items, [long, short]) {
                #expect(node.child(NS.types, "Importance")?.text == truth.importance)
                #expect(node.child(NS.types, "ConversationId")?.attribute("Id") == truth.conversationId)
                #expect((node.child(NS.types, "Categories")?.children.map(\.text) ?? []) == truth.categories)
                #expect((node.child(NS.types, "CcRecipients")?.children.compactMap { $0.child(NS.types, "EmailAddress")?.text } ?? [])
                        == truth.cc)
            }
        }
    }

    @Test func anUpdateFlagsTheItemAndAddsItsCategory() async throws {
        try await SimFixture.with({ $0.itemsPerMailbox = 0 }) { sim in
            let mailbox = sim.tenants[0].mailboxes[0]
            _ = try sim.world.deliver(mailbox: mailbox, count: 2)
            let before = try #require(try sim.world.contents(mailbox: mailbox).first)
            #expect(before.flagStatus == "NotFlagged" && !before.categories.contains("Follow-up"))
            try sim.world.updateItem(itemId: before.itemId)
            let after = try #require(try sim.world.contents(mailbox: mailbox).first { $0.itemId == before.itemId })
            #expect(after.flagStatus == "Flagged" && after.categories.last == "Follow-up")
        }
    }

    static func findItem(_ restriction: String, mailbox: String, offset: Int = 0, max: Int = 250) -> String {
        Soap.envelope("<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
                      + "<t:FieldURI FieldURI=\"item:Importance\"/><t:FieldURI FieldURI=\"item:DateTimeReceived\"/>"
                      + "</t:AdditionalProperties></m:ItemShape>"
                      + "<m:IndexedPageItemView MaxEntriesReturned=\"\(max)\" Offset=\"\(offset)\" BasePoint=\"Beginning\"/>"
                      + (restriction.isEmpty ? "" : "<m:Restriction>\(restriction)</m:Restriction>")
                      + "<m:SortOrder><t:FieldOrder Order=\"Ascending\"><t:FieldURI FieldURI=\"item:DateTimeReceived\"/></t:FieldOrder></m:SortOrder>"
                      + "<m:ParentFolderIds><t:DistinguishedFolderId Id=\"inbox\"/></m:ParentFolderIds></m:FindItem>", impersonate: mailbox)
    }

    /// FindItem's Restriction and SortOrder as Exchange applies them: the view (and its
    /// TotalItemsInView) holds only matching items, oldest first when asked; a path that cannot be
    /// queried is refused.
    @Test func findItemRestrictsAndSortsTheView() async throws {
        try await SimFixture.with({ $0.itemsPerMailbox = 0 }) { sim in
            let mailbox = sim.tenants[0].mailboxes[0]
            _ = try sim.world.deliver(mailbox: mailbox, count: 21)
            let contents = try sim.world.contents(mailbox: mailbox)
            let high = Set(contents.filter { $0.importance == "High" }.map(\.itemId))
            let vendor = Set(contents.filter { $0.categories.contains("Vendor") }.map(\.itemId))
            let restriction = "<t:Or><t:IsEqualTo><t:FieldURI FieldURI=\"item:Importance\"/><t:FieldURIOrConstant>"
                + "<t:Constant Value=\"High\"/></t:FieldURIOrConstant></t:IsEqualTo>"
                + "<t:Contains ContainmentMode=\"FullString\" ContainmentComparison=\"IgnoreCase\"><t:FieldURI FieldURI=\"item:Categories\"/>"
                + "<t:Constant Value=\"vendor\"/></t:Contains></t:Or>"
            let body = try await sim.ews(Self.findItem(restriction, mailbox: mailbox)).body
            let root = try #require(try Soap.messages(body).first?.child(NS.messages, "RootFolder"))
            let items = root.child(NS.types, "Items")?.children ?? []
            #expect(Set(items.compactMap { $0.child(NS.types, "ItemId")?.attribute("Id") }) == high.union(vendor))
            #expect(root.attribute("TotalItemsInView") == String(high.union(vendor).count))
            let received = items.compactMap { $0.child(NS.types, "DateTimeReceived")?.text }
            #expect(received == received.sorted(), "oldest first")
            let refused = try await sim.ews(Self.findItem("<t:Exists><t:FieldURI FieldURI=\"item:Body\"/></t:Exists>", mailbox: mailbox)).body
            #expect(refused.contains("ErrorUnsupportedPathForQuery"))
        }
    }
}
