@testable import EWS
import Foundation
@testable import Fleet
import Store
import Testing

/// A mailbox's filtered scope in the change pipeline: the restriction is a superset of the filter,
/// the filter is judged on fetched properties, and items entering or leaving the scope are
/// `created` or `deleted`.
@Suite struct FilterScopeTests {
    static func scoped(_ id: String, _ key: String, importance: String = "Normal", categories: [String]? = nil,
                       from: String = "ann@vendor.example", read: Bool = false) -> EWSItem {
        var i = item(id, key, read: read)
        i.importance = importance
        i.categories = categories
        i.from = .init(name: "Ann", emailAddress: from)
        return i
    }

    static func filtered(_ text: String) throws -> FolderSyncer.Target {
        var t = target
        t.filter = try MailboxFilter(parsing: text)
        return t
    }

    @Test func theRestrictionNeverDropsWhatTheFilterKeeps() throws {
        func restriction(_ text: String) throws -> EWSRestriction? { FilterScope.restriction(try MailboxFilter(parsing: text)) }
        #expect(try restriction("importance:high") == .isEqualTo(.importance, "High"))
        #expect(try restriction("from-domain:vendor.example and importance:high") == .isEqualTo(.importance, "High"))
        #expect(try restriction("subject-prefix:\"[ext]\" and category:vendor and importance:low")
                == .and([.startsWith(.subject, "[ext]"), .containsValue(.categories, "vendor"), .isEqualTo(.importance, "Low")]))
        #expect(try restriction("importance:high or category:vendor") == .or([.isEqualTo(.importance, "High"),
                                                                               .containsValue(.categories, "vendor")]))
        // Anything the server cannot judge as this client does: no restriction there.
        #expect(try restriction("importance:high or from-domain:vendor.example") == nil)
        #expect(try restriction("not importance:high") == nil)
        #expect(try restriction("from:ann@vendor.example") == nil)
    }

    @Test func aScopedFirstSyncRecordsOnlyTheScopeAndFetchesOnlyIt() async throws {
        let listed = [Self.scoped("a", "k1", importance: "High"), Self.scoped("b", "k1"),
                      Self.scoped("c", "k1", from: "x@mail.vendor.example"), Self.scoped("d", "k1", from: "x@other.example")]
        let service = ScriptedService(pages: [.init(changes: listed.map { change(.create, $0.itemID.id, $0.itemID.changeKey) }, last: true)],
                                      items: listed)
        service.listing.withLock { $0 = listed }
        let store = MemoryStore()
        let summary = try await FolderSyncer(service: service, store: store)
            .sync(try Self.filtered("from-domain:vendor.example and not importance:low"), folder: "inbox", fromScratch: false)
        let outbox = store.state.withLock { $0.outbox.map { "\($0.itemID):\($0.kind.rawValue)" } }
        #expect(outbox.sorted() == ["a:created", "b:created", "c:created"])
        #expect(summary.itemsFetched == 3, "only the scope is fetched")
        #expect(service.restrictions.withLock { $0 } == [nil], "from-domain is judged here, so no restriction")
        store.state.withLock { s in
            #expect(Set(s.mirror.keys) == ["a", "b", "c"])
            #expect(s.syncStates["inbox"] == "s1")
            #expect(s.scopes["inbox"] == "from-domain:vendor.example and not importance:low")
        }
    }

    @Test func aNewFilterScopesAMirroredFolderAgainAndAnUnchangedItemCostsNothing() async throws {
        let listed = [Self.scoped("a", "k1", importance: "High"), Self.scoped("b", "k1"), Self.scoped("c", "k2", importance: "High")]
        let service = ScriptedService(pages: [.init(changes: [], last: true), .init(changes: [], last: true)], items: listed)
        service.listing.withLock { $0 = listed }
        let store = MemoryStore()
        store.state.withLock { s in
            // Mirrored before the filter: a (unchanged), b (now outside), c (changed since).
            s.mirror = ["a": .init(changeKey: "k1", isRead: false), "b": .init(changeKey: "k1", isRead: false),
                        "c": .init(changeKey: "k1", isRead: false)]
            s.syncStates["inbox"] = "s1"
        }
        let summary = try await FolderSyncer(service: service, store: store).sync(try Self.filtered("importance:high"),
                                                                                  folder: "inbox", fromScratch: false)
        let outbox = store.state.withLock { $0.outbox.map { "\($0.itemID):\($0.kind.rawValue)" } }
        #expect(outbox == ["c:updated", "b:deleted"])
        #expect(summary.itemsFetched == 1)
        #expect(service.restrictions.withLock { $0 } == [.isEqualTo(.importance, "High")])
        #expect(store.state.withLock { $0.scopes["inbox"] } == "importance:high")
    }

    @Test func changesMoveItemsInAndOutOfTheScope() async throws {
        // Incremental: b enters the scope, a leaves it, c stays outside, and a read of d (never in
        // the mirror) is nothing.
        let now = [Self.scoped("a", "k2"), Self.scoped("b", "k2", importance: "High"), Self.scoped("c", "k2")]
        let service = ScriptedService(pages: [.init(changes: [change(.update, "a", "k2"), change(.update, "b", "k2"),
                                                              change(.create, "c", "k2"), change(.readFlagChange, "d", "k2", read: true)],
                                                    last: true)], items: now)
        let store = MemoryStore()
        store.state.withLock { s in
            s.mirror = ["a": .init(changeKey: "k1", isRead: false)]
            s.syncStates["inbox"] = "s0"
            s.scopes["inbox"] = "importance:high"
        }
        _ = try await FolderSyncer(service: service, store: store).sync(try Self.filtered("importance:high"),
                                                                        folder: "inbox", fromScratch: false)
        let outbox = store.state.withLock { $0.outbox.map { "\($0.itemID):\($0.kind.rawValue)" } }
        #expect(outbox == ["a:deleted", "b:created"])
        #expect(store.state.withLock { Set($0.mirror.keys) } == ["b"])
        #expect(service.fieldSets.withLock { $0 }.allSatisfy { $0.isSuperset(of: FilterScope.fields) })
    }

    /// A view that shrinks under the pages is listed again; one that grows (new mail sorts last) is not.
    @Test(arguments: [(2, 4, 3), (4, 2, 4)])
    func aViewThatShrinksWhilePagedIsListedAgain(secondPageTotal: Int, calls: Int, items: Int) async throws {
        final class Shifting: SyncService, @unchecked Sendable {
            let secondPageTotal: Int
            var calls = 0
            init(_ secondPageTotal: Int) { self.secondPageTotal = secondPageTotal }
            func syncFolderItems(mailbox: String, folder: String, syncState: String?, maxChanges: Int, readState: Bool,
                                 ignore: [String]) async throws -> SyncFolderItemsResponseMessage {
                SyncFolderItemsResponseMessage(status: .noError, syncState: "s1", includesLastItemInRange: true, changes: [])
            }
            func getItems(mailbox: String, ids: [EWSItemID], fields: Set<ItemField>) async throws -> [GetItemResponseMessage] {
                ids.map { GetItemResponseMessage(status: .noError, items: [FilterScopeTests.scoped($0.id, "k1", importance: "High")]) }
            }
            func findItems(mailbox: String, folder: String, fields: Set<ItemField>, restriction: EWSRestriction?,
                           order: FindItemRequest.Order, offset: Int, maxEntries: Int) async throws -> FindItemResponseMessage {
                calls += 1
                let total = calls == 2 ? secondPageTotal : 3
                let all = (0..<total).map { FilterScopeTests.scoped("i\($0)", "k1", importance: "High") }
                let page = Array(all.dropFirst(offset).prefix(maxEntries))
                return FindItemResponseMessage(status: .noError, items: page, includesLastItemInRange: offset + page.count >= total,
                                               indexedPagingOffset: offset + page.count, totalItemsInView: total)
            }
        }
        let service = Shifting(secondPageTotal)
        let store = MemoryStore()
        var syncer = FolderSyncer(service: service, store: store)
        syncer.findPageSize = 2
        _ = try await syncer.sync(try Self.filtered("importance:high"), folder: "inbox", fromScratch: true)
        #expect(service.calls == calls)
        #expect(store.state.withLock { Set($0.mirror.keys) } == Set((0..<items).map { "i\($0)" }))
    }
}
