@testable import EWS
import Foundation
@testable import Fleet
import Store
import Testing

/// What the tenant's property profile puts in `changes.properties` and the mirror.
@Suite struct PropertyProfileSyncTests {
    static func rich(_ id: String, _ key: String, read: Bool = false, categories: [String]? = ["Vendor"]) -> EWSItem {
        var i = item(id, key, read: read)
        i.internetMessageID = "<\(id)@contoso.example>"
        i.conversationID = "CONV1"
        i.from = .init(name: "Ann", emailAddress: "ann@contoso.example")
        i.toRecipients = [.init(name: "Bob", emailAddress: "bob@contoso.example"), .init(name: "List without address")]
        i.ccRecipients = [.init(emailAddress: "cc@contoso.example")]
        i.categories = categories
        i.importance = "High"
        i.flagStatus = "Flagged"
        i.body = "  Hello,\r\n\r\n   the figures\tare attached.  "
        return i
    }

    static func properties(_ record: ChangeRecord) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: record.properties) as? [String: Any])
    }

    static func syncOnce(_ profile: PropertyProfile, items: [EWSItem]) async throws -> (MemoryStore, ScriptedService) {
        let service = ScriptedService(pages: [.init(changes: items.map { change(.create, $0.itemID.id, $0.itemID.changeKey) },
                                                    last: true)], items: items)
        let store = MemoryStore()
        var syncer = FolderSyncer(service: service, store: store)
        syncer.profile = profile
        _ = try await syncer.sync(target, folder: "inbox", fromScratch: false)
        return (store, service)
    }

    @Test func theDefaultProfileRecordsTheSummaryOnly() async throws {
        let (store, service) = try await Self.syncOnce(.default, items: [Self.rich("a", "k1")])
        let row = try #require(store.state.withLock { $0.outbox.first })
        #expect(Set(try Self.properties(row).keys) == ["subject", "sender", "received_at", "size", "has_attachments", "is_read"])
        #expect(service.fieldSets.withLock { $0 } == [Set(ItemField.defaultSet)])
        #expect(store.state.withLock { $0.rows["a"]?.details } == ItemDetails())
    }

    @Test func theExtendedProfileRecordsEachFieldUnderItsJSONName() async throws {
        let profile = try PropertyProfile(parsing: "extended")
        let (store, service) = try await Self.syncOnce(profile, items: [Self.rich("a", "k1")])
        let row = try #require(store.state.withLock { $0.outbox.first })
        let p = try Self.properties(row)
        #expect(p["internet_message_id"] as? String == "<a@contoso.example>")
        #expect(p["conversation_id"] as? String == "CONV1")
        #expect(p["from"] as? String == "ann@contoso.example")
        #expect(p["to"] as? [String] == ["bob@contoso.example", "List without address"])
        #expect(p["cc"] as? [String] == ["cc@contoso.example"])
        #expect(p["categories"] as? [String] == ["Vendor"])
        #expect(p["importance"] as? String == "High")
        #expect(p["flag_status"] as? String == "Flagged")
        #expect(p["subject"] as? String == "s")
        #expect(p["body_preview"] == nil, "personal data only when named")
        #expect(service.fieldSets.withLock { $0 } == [profile.fields])
        // The mirror keeps the extended fields too, never the body.
        let details = try #require(store.state.withLock { $0.rows["a"]?.details })
        #expect(details.importance == "High" && details.categories == ["Vendor"] && details.cc == ["cc@contoso.example"])
        #expect(!details.json.contains("body"))
    }

    @Test func aListCarriesExactlyItsFields() async throws {
        let (store, _) = try await Self.syncOnce(try PropertyProfile(parsing: "subject,importance"), items: [Self.rich("a", "k1")])
        let row = try #require(store.state.withLock { $0.outbox.first })
        #expect(Set(try Self.properties(row).keys) == ["subject", "importance"])
        #expect(row.isRead == false, "the outbox's is_read column does not depend on the profile")
    }

    @Test func aNamedBodyPreviewIsPlainFoldedText() async throws {
        let (store, _) = try await Self.syncOnce(try PropertyProfile(parsing: "extended,body_preview"), items: [Self.rich("a", "k1")])
        let row = try #require(store.state.withLock { $0.outbox.first })
        #expect(try Self.properties(row)["body_preview"] as? String == "Hello, the figures are attached.")
    }

    /// gromox reports a read as an Update: with the extended profile, an Update that also changed a
    /// category is an update, and one that only flipped the read state is a read_flag.
    @Test func aReadFlipThatAlsoChangedACategoryIsAnUpdate() async throws {
        let profile = try PropertyProfile(parsing: "extended")
        let before = Self.rich("a", "k1", read: false)
        let onlyRead = Self.rich("a", "k2", read: true)
        let readAndCategory = Self.rich("b", "k2", read: true, categories: ["Vendor", "Follow-up"])
        let service = ScriptedService(pages: [.init(changes: [change(.update, "a", "k2"), change(.update, "b", "k2")], last: true)],
                                      items: [onlyRead, readAndCategory])
        let store = MemoryStore()
        store.state.withLock { s in
            for id in ["a", "b"] {
                var row = mirrored(Self.rich(id, "k1"))
                row.details = FolderSyncer.details(of: before, fields: profile.fields)
                s.rows[id] = row
                s.mirror[id] = .init(changeKey: "k1", isRead: false)
            }
        }
        var syncer = FolderSyncer(service: service, store: store)
        syncer.profile = profile
        _ = try await syncer.sync(target, folder: "inbox", fromScratch: false)
        let kinds = store.state.withLock { Dictionary(uniqueKeysWithValues: $0.outbox.map { ($0.itemID, $0.kind) }) }
        #expect(kinds == ["a": .readFlag, "b": .updated])
    }

    @Test func thePreviewKeepsAtMost255CharactersCutOnACharacterBoundary() {
        #expect(BodyPreview.make("") == "")
        #expect(BodyPreview.make(" \r\n\t ") == "")
        #expect(BodyPreview.make("a\n\nb  c ") == "a b c")
        let family = "👨‍👩‍👧"  // one character of several scalars
        let long = String(repeating: family, count: 300)
        let preview = BodyPreview.make(long)
        #expect(preview.count == 255)
        #expect(preview == String(repeating: family, count: 255))
        // A space that would be the 256th character is dropped, not kept dangling.
        let words = String(repeating: "x", count: 254) + " yz"
        #expect(BodyPreview.make(words) == String(repeating: "x", count: 254))
        #expect(BodyPreview.make(String(repeating: "é", count: 254) + " z") == String(repeating: "é", count: 254))
    }
}
