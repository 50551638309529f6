@testable import EWS
import Foundation
@testable import Fleet
import Store
import Synchronization
import Testing

/// A search folder (`search:NAME`) is never synced: it is listed with FindItem, last modified
/// first, and the listing is diffed against its mirror rows.
@Suite struct SearchFolderSyncTests {
    static let folder = "search:Unread Mail"

    @Test func aSearchFolderIsListedAndDiffedNeverSynced() async throws {
        let listed = [item("a", "k1"), item("b", "k2"), item("c", "k1")] + (0..<11).map { item("n\($0)", "k1") }
        let service = ScriptedService(pages: [], items: listed)
        service.listing.withLock { $0 = listed }
        let store = MemoryStore()
        store.state.withLock {
            $0.mirror = ["a": .init(changeKey: "k1", isRead: false), "b": .init(changeKey: "k1", isRead: false),
                         "d": .init(changeKey: "k1", isRead: false)]
        }
        let summary = try await FolderSyncer(service: service, store: store).sync(target, folder: Self.folder, fromScratch: false)
        #expect(service.readStates.withLock { $0 }.isEmpty, "SyncFolderItems is never called for a search folder")
        #expect(service.orders.withLock { $0 } == [.modifiedDescending])
        #expect(service.restrictions.withLock { $0 } == [nil])
        // b changed, c and the eleven n are new: 13 fetched, at most 10 a GetItem; a is unchanged.
        #expect(service.getItemBatches.withLock { $0 } == [10, 3])
        #expect(summary.itemsFetched == 13)
        let rows = store.state.withLock { $0.outbox }
        #expect(rows.allSatisfy { $0.folderID == Self.folder })
        #expect(Set(rows.filter { $0.kind == .created }.map(\.itemID)) == Set(["c"] + (0..<11).map { "n\($0)" }))
        #expect(rows.filter { $0.kind != .created }.map { "\($0.itemID):\($0.kind.rawValue)" }.sorted() == ["b:updated", "d:deleted"])
        // The same listing again records nothing.
        #expect(try await FolderSyncer(service: service, store: store).sync(target, folder: Self.folder, fromScratch: false)
            .changesInserted == 0)
    }

    @Test func aReadThatKeepsTheChangeKeyIsARow() async throws {
        // A server that keeps the ChangeKey on a read: the listing's IsRead tells it.
        let service = ScriptedService(pages: [], items: [item("a", "k1", read: true)])
        service.listing.withLock { $0 = [item("a", "k1", read: true)] }
        let store = MemoryStore()
        store.state.withLock { $0.rows = ["a": mirrored(item("a", "k1", read: false))]; $0.mirror = ["a": .init(changeKey: "k1", isRead: false)] }
        _ = try await FolderSyncer(service: service, store: store).sync(target, folder: Self.folder, fromScratch: false)
        #expect(store.state.withLock { $0.outbox.map { "\($0.itemID):\($0.kind.rawValue):\($0.isRead.map(String.init) ?? "")" } }
            == ["a:read_flag:true"])
    }

    /// An item that changes while the folder is paged moves to the front and shifts the rest
    /// forward: the next page repeats an item, and one not read yet would be skipped. The folder is
    /// listed again, and nothing mirrored is taken for deleted.
    @Test func anItemListedTwiceListsTheFolderAgain() async throws {
        final class Shifting: SyncService, @unchecked Sendable {
            var calls = 0
            func syncFolderItems(mailbox: String, folder: String, syncState: String?, maxChanges: Int, readState: Bool,
                                 ignore: [String]) async throws -> SyncFolderItemsResponseMessage {
                Issue.record("SyncFolderItems on a search folder")
                return SyncFolderItemsResponseMessage(status: .noError, syncState: "s", includesLastItemInRange: true, changes: [])
            }
            func getItems(mailbox: String, ids: [EWSItemID], fields: Set<ItemField>) async throws -> [GetItemResponseMessage] {
                ids.map { GetItemResponseMessage(status: .noError, items: [item($0.id, $0.id == "d" ? "k2" : "k1")]) }
            }
            func findItems(mailbox: String, folder: String, fields: Set<ItemField>, restriction: EWSRestriction?,
                           order: FindItemRequest.Order, offset: Int, maxEntries: Int) async throws -> FindItemResponseMessage {
                calls += 1
                // Listing 1: a b | (d changed) d a b c → page 2 = b c, d never seen. Listing 2: d a | b c.
                let all = calls == 1 ? [item("a", "k1"), item("b", "k1"), item("c", "k1"), item("d", "k1")]
                    : [item("d", "k2"), item("a", "k1"), item("b", "k1"), item("c", "k1")]
                let page = Array(all.dropFirst(offset).prefix(maxEntries))
                return FindItemResponseMessage(status: .noError, items: page, includesLastItemInRange: offset + page.count >= all.count,
                                               indexedPagingOffset: offset + page.count, totalItemsInView: all.count)
            }
        }
        let service = Shifting()
        let store = MemoryStore()
        store.state.withLock { s in for id in ["a", "b", "c", "d"] { s.mirror[id] = .init(changeKey: "k1", isRead: false) } }
        var syncer = FolderSyncer(service: service, store: store)
        syncer.findPageSize = 2
        _ = try await syncer.sync(target, folder: Self.folder, fromScratch: false)
        #expect(service.calls == 4)
        #expect(store.state.withLock { $0.outbox.map { "\($0.itemID):\($0.kind.rawValue)" } } == ["d:updated"])
    }
}
