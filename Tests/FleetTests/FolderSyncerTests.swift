@testable import EWS
import Foundation
@testable import Fleet
import Store
import Synchronization
import Testing

/// Scripted SyncFolderItems pages (state nil → page 0, "s1" → page 1, ...) and a GetItem over a
/// dictionary of current items.
final class ScriptedService: SyncService {
    /// `last` nil: a page that does not say whether it is the last (malformed).
    struct Page { var changes: [EWSItemChange]; var last: Bool? }
    let pages: [Page]
    let items: Mutex<[String: EWSItem]>
    let getItemBatches = Mutex<[Int]>([])
    /// The fields each GetItem call asked for.
    let fieldSets = Mutex<[Set<ItemField>]>([])
    /// FindItem: the items of the folder (in this order) and the restriction of each call.
    let listing = Mutex<[EWSItem]>([])
    let restrictions = Mutex<[EWSRestriction?]>([])
    let orders = Mutex<[FindItemRequest.Order]>([])
    /// The `readState` of each SyncFolderItems call.
    let readStates = Mutex<[Bool]>([])

    init(pages: [Page], items: [EWSItem]) {
        self.pages = pages
        self.items = Mutex(Dictionary(uniqueKeysWithValues: items.map { ($0.itemID.id, $0) }))
    }

    func syncFolderItems(mailbox: String, folder: String, syncState: String?, maxChanges: Int, readState: Bool,
                         ignore: [String]) async throws -> SyncFolderItemsResponseMessage
    {
        readStates.withLock { $0.append(readState) }
        let index = syncState.map { Int($0.dropFirst())! } ?? 0
        let page = pages[index]
        return SyncFolderItemsResponseMessage(status: .noError, syncState: "s\(index + 1)",
                                              includesLastItemInRange: page.last, changes: page.changes)
    }

    func getItems(mailbox: String, ids: [EWSItemID], fields: Set<ItemField>) async throws -> [GetItemResponseMessage] {
        getItemBatches.withLock { $0.append(ids.count) }
        fieldSets.withLock { $0.append(fields) }
        return items.withLock { items in
            ids.map { id in
                if let item = items[id.id] { return GetItemResponseMessage(status: .noError, items: [item]) }
                return GetItemResponseMessage(status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorItemNotFound"), items: [])
            }
        }
    }

    /// Pages `listing` (the server's side of a restriction is not modelled: every item is returned).
    func findItems(mailbox: String, folder: String, fields: Set<ItemField>, restriction: EWSRestriction?,
                   order: FindItemRequest.Order, offset: Int, maxEntries: Int) async throws -> FindItemResponseMessage {
        restrictions.withLock { $0.append(restriction) }
        orders.withLock { $0.append(order) }
        let all = listing.withLock { $0 }
        let page = Array(all.dropFirst(offset).prefix(maxEntries))
        return FindItemResponseMessage(status: .noError, items: page, includesLastItemInRange: offset + page.count >= all.count,
                                       indexedPagingOffset: offset + page.count, totalItemsInView: all.count)
    }
}

/// An in-memory store with the outbox's rules (CheckpointWriter): deletes only of what leaves the
/// mirror, unique on (folder, item, kind, change key, sync step).
final class MemoryStore: SyncStore {
    struct State {
        var syncStates: [String: String] = [:]
        var mirror: [String: MirrorRepository.MirrorEntry] = [:]
        /// Full rows, for items whose properties a test cares about (else derived from `mirror`).
        var rows: [String: MirrorItem] = [:]
        var outbox: [ChangeRecord] = []
        var keys: Set<String> = []
        var failCommitNumber: Int?
        var commits = 0
        var baselining: Set<String> = []
        var ignored: [String] = []
        var scopes: [String: String] = [:]
    }
    let state = Mutex(State())

    func syncState(mailboxID: Int64, folder: String) async throws -> String? {
        state.withLock { $0.syncStates[folder].flatMap { $0.isEmpty ? nil : $0 } }
    }
    func mirror(mailboxID: Int64, folder: String) async throws -> [String: MirrorRepository.MirrorEntry] {
        state.withLock { $0.mirror }
    }
    func baselining(mailboxID: Int64, folder: String) async throws -> Bool {
        state.withLock { $0.baselining.contains(folder) }
    }
    func ignored(mailboxID: Int64) async throws -> [String] { state.withLock { $0.ignored } }
    func filterScope(mailboxID: Int64, folder: String) async throws -> String { state.withLock { $0.scopes[folder] ?? "" } }
    func mirrorItems(mailboxID: Int64, folder: String, itemIDs: [String]) async throws -> [String: MirrorItem] {
        state.withLock { s in
            var found: [String: MirrorItem] = [:]
            for id in itemIDs {
                if let row = s.rows[id] {
                    found[id] = row
                } else if let entry = s.mirror[id] {
                    found[id] = MirrorItem(folderID: "inbox", itemID: id, changeKey: entry.changeKey, isRead: entry.isRead)
                }
            }
            return found
        }
    }
    func commit(_ cp: Checkpoint) async throws -> Int {
        try state.withLock { s in
            s.commits += 1
            if s.failCommitNumber == s.commits { throw CancellationError() }
            for u in cp.upserts {
                s.mirror[u.itemID] = .init(changeKey: u.changeKey, isRead: u.isRead)
                s.rows[u.itemID] = u
            }
            for r in cp.readFlags where s.mirror[r.itemID] != nil { s.mirror[r.itemID] = .init(changeKey: r.changeKey, isRead: r.isRead) }
            var removed: Set<String> = []
            for d in cp.deletes where s.mirror.removeValue(forKey: d) != nil {
                s.rows[d] = nil
                removed.insert(d)
            }
            var inserted = 0
            for c in cp.changes where c.kind != .deleted || removed.contains(c.itemID) {
                guard s.keys.insert("\(c.folderID)|\(c.itemID)|\(c.kind)|\(c.changeKey)|\(cp.syncStep)").inserted else { continue }
                s.outbox.append(c)
                inserted += 1
            }
            s.syncStates[cp.folderID] = cp.syncState
            if cp.completesFullSync { s.scopes[cp.folderID] = cp.filterScope }
            if cp.baselining { s.baselining.insert(cp.folderID) } else { s.baselining.remove(cp.folderID) }
            return inserted
        }
    }
}

func item(_ id: String, _ key: String, read: Bool = false, subject: String = "s") -> EWSItem {
    EWSItem(itemType: "Message", itemID: EWSItemID(id: id, changeKey: key), parentFolderID: nil, subject: subject,
            sender: .init(name: "Bob", emailAddress: "bob@example.com"), dateTimeReceived: "2026-11-24T10:00:00Z",
            size: 100, hasAttachments: false, isRead: read)
}

func change(_ kind: EWSItemChange.Kind, _ id: String, _ key: String? = nil, read: Bool? = nil) -> EWSItemChange {
    EWSItemChange(kind: kind, itemID: EWSItemID(id: id, changeKey: key), itemType: "Message", isRead: read)
}

/// The mirror row an item becomes.
func mirrored(_ item: EWSItem, folder: String = "inbox") -> MirrorItem {
    MirrorItem(folderID: folder, itemID: item.itemID.id, changeKey: item.itemID.changeKey ?? "", isRead: item.isRead,
               subject: item.subject, sender: item.sender?.emailAddress, receivedAt: item.dateTimeReceived.flatMap(FolderSyncer.parseDate),
               size: item.size.map(Int64.init), hasAttachments: item.hasAttachments)
}

let target = FolderSyncer.Target(tenant: "t", mailboxID: 1, mailbox: "a@t.example", lease: nil)

@Suite struct FolderSyncerTests {
    @Test func initialSyncFetchesInBatchesOfTenAndCommitsEachPage() async throws {
        let items = (0..<23).map { item("i\($0)", "k\($0)") }
        let pages = [ScriptedService.Page(changes: items.prefix(12).map { change(.create, $0.itemID.id, $0.itemID.changeKey) }, last: false),
                     ScriptedService.Page(changes: items.dropFirst(12).map { change(.create, $0.itemID.id, $0.itemID.changeKey) }, last: true)]
        let service = ScriptedService(pages: pages, items: items)
        let store = MemoryStore()
        let summary = try await FolderSyncer(service: service, store: store).sync(target, folder: "inbox", fromScratch: false)
        #expect(summary == .init(pages: 2, changesInserted: 23, itemsFetched: 23))
        #expect(service.getItemBatches.withLock { $0 } == [10, 2, 10, 1])
        store.state.withLock { s in
            #expect(s.mirror.count == 23)
            #expect(s.outbox.allSatisfy { $0.kind == .created })
            #expect(s.syncStates["inbox"] == "s2")  // a first sync keeps its state only at the end
        }
    }

    @Test func readFlagDeleteAndUpdatePages() async throws {
        let store = MemoryStore()
        store.state.withLock { $0.syncStates["inbox"] = "s1"; $0.mirror = ["a": .init(changeKey: "k1", isRead: false), "b": .init(changeKey: "k1", isRead: false)] }
        let pages = [ScriptedService.Page(changes: [], last: true),
                     ScriptedService.Page(changes: [change(.readFlagChange, "a", "k2", read: true), change(.delete, "b"),
                                                    change(.update, "c", "k5")], last: true)]
        let service = ScriptedService(pages: pages, items: [item("c", "k5", subject: "edited")])
        _ = try await FolderSyncer(service: service, store: store).sync(target, folder: "inbox", fromScratch: false)
        #expect(service.getItemBatches.withLock { $0 } == [1])  // only the update is fetched
        store.state.withLock { s in
            #expect(s.outbox.map(\.kind) == [.readFlag, .deleted, .updated])
            #expect(s.mirror["a"] == .init(changeKey: "k2", isRead: true))
            #expect(s.mirror["b"] == nil)
            #expect(s.syncStates["inbox"] == "s2")
        }
    }

    @Test func fullResyncEmitsOnlyRealDifferencesIncludingLostDeletes() async throws {
        let store = MemoryStore()
        store.state.withLock { s in
            s.syncStates["inbox"] = "garbage"
            s.mirror = ["same": .init(changeKey: "k1", isRead: false), "edited": .init(changeKey: "k1", isRead: false),
                        "readnow": .init(changeKey: "k1", isRead: false), "gone": .init(changeKey: "k1", isRead: false)]
            s.rows["readnow"] = mirrored(item("readnow", "k1", read: false))
        }
        let current = [item("same", "k1"), item("edited", "k2", subject: "new"), item("readnow", "k2", read: true), item("new", "k1")]
        let service = ScriptedService(pages: [.init(changes: current.map { change(.create, $0.itemID.id, $0.itemID.changeKey) }, last: true)],
                                      items: current)
        _ = try await FolderSyncer(service: service, store: store).sync(target, folder: "inbox", fromScratch: true)
        store.state.withLock { s in
            let rows = Dictionary(uniqueKeysWithValues: s.outbox.map { ($0.itemID, $0.kind) })
            #expect(rows == ["edited": .updated, "readnow": .readFlag, "new": .created, "gone": .deleted])
            #expect(Set(s.mirror.keys) == ["same", "edited", "readnow", "new"])
            #expect(s.syncStates["inbox"] == "s1")
        }
    }

    /// `--start now`: the first sync mirrors ids and read states from the pages, with no GetItem and
    /// no outbox row; an item whose page lacks IsRead is fetched, still silently; afterwards every
    /// change is recorded as usual.
    @Test func aBaselineMirrorsWithoutGetItemOrOutboxAndLaterChangesAreRecorded() async throws {
        let store = MemoryStore()
        let pages = [
            ScriptedService.Page(changes: [change(.create, "a", "k1", read: true), change(.create, "b", "k1", read: false)], last: false),
            ScriptedService.Page(changes: [change(.create, "c", "k1")], last: true),
            ScriptedService.Page(changes: [change(.create, "d", "k1"), change(.readFlagChange, "a", "k2", read: false)], last: true),
        ]
        let service = ScriptedService(pages: pages, items: [item("c", "k1", read: true), item("d", "k1")])
        var startsNow = target
        startsNow.startsNow = true
        let syncer = FolderSyncer(service: service, store: store)
        let first = try await syncer.sync(startsNow, folder: "inbox", fromScratch: false)
        #expect(first == .init(pages: 2, changesInserted: 0, itemsFetched: 1))
        #expect(service.getItemBatches.withLock { $0 } == [1], "only c, whose page had no IsRead")
        store.state.withLock { s in
            #expect(s.outbox.isEmpty)
            #expect(s.mirror == ["a": .init(changeKey: "k1", isRead: true), "b": .init(changeKey: "k1", isRead: false),
                                 "c": .init(changeKey: "k1", isRead: true)])
            #expect(s.syncStates["inbox"] == "s2")
        }
        // From its SyncState on, the folder syncs like any other: every change is recorded.
        _ = try await syncer.sync(startsNow, folder: "inbox", fromScratch: false)
        #expect(service.readStates.withLock { $0 } == [true, true, false])
        store.state.withLock { s in
            #expect(s.outbox.map { "\($0.itemID):\($0.kind.rawValue)" } == ["a:read_flag", "d:created"])
        }
    }

    /// A baseline interrupted after its first page (a crash, a restart) goes on as a baseline,
    /// although the mirror is no longer empty: nothing it held at the start becomes `created`.
    @Test func anInterruptedBaselineGoesOnAsOne() async throws {
        let store = MemoryStore()
        store.state.withLock { $0.failCommitNumber = 2 }
        let pages = [
            ScriptedService.Page(changes: [change(.create, "a", "k1", read: true)], last: false),
            ScriptedService.Page(changes: [change(.create, "b", "k1", read: false)], last: true),
        ]
        let service = ScriptedService(pages: pages, items: [])
        var startsNow = target
        startsNow.startsNow = true
        let syncer = FolderSyncer(service: service, store: store)
        await #expect(throws: CancellationError.self) { try await syncer.sync(startsNow, folder: "inbox", fromScratch: false) }
        store.state.withLock { #expect($0.mirror.count == 1 && $0.baselining == ["inbox"]) }
        _ = try await syncer.sync(startsNow, folder: "inbox", fromScratch: false)
        store.state.withLock { s in
            #expect(s.outbox.isEmpty)
            #expect(Set(s.mirror.keys) == ["a", "b"] && s.baselining.isEmpty && s.syncStates["inbox"] == "s2")
        }
    }

    /// A mailbox that starts now but whose folder the mirror already holds (a `mailbox resync`)
    /// resyncs as usual: what differs is recorded.
    @Test func aResyncOfAMirroredFolderIsNoBaseline() async throws {
        let store = MemoryStore()
        store.state.withLock { $0.mirror = ["a": .init(changeKey: "k1", isRead: false)] }
        let service = ScriptedService(pages: [.init(changes: [change(.create, "a", "k1"), change(.create, "n", "k1")], last: true)],
                                      items: [item("n", "k1")])
        var startsNow = target
        startsNow.startsNow = true
        _ = try await FolderSyncer(service: service, store: store).sync(startsNow, folder: "inbox", fromScratch: true)
        #expect(service.readStates.withLock { $0 } == [false])
        store.state.withLock { #expect($0.outbox.map { "\($0.itemID):\($0.kind.rawValue)" } == ["n:created"]) }
    }

    /// gromox follows each Create of a from-scratch sync with a ReadFlagChange (no ChangeKey) for
    /// items whose read state ever changed: only a read state that differs from the mirror is
    /// recorded, once, whichever report comes first; an item the mirror lacks is its Create's.
    @Test func aFromScratchSyncRecordsOnlyRealReadChangesOnceWhateverTheServerRepeats() async throws {
        let store = MemoryStore()
        store.state.withLock { s in
            s.mirror = ["same": .init(changeKey: "k1", isRead: false), "read": .init(changeKey: "k1", isRead: false),
                        "both": .init(changeKey: "k1", isRead: false)]
            for id in ["same", "read", "both"] { s.rows[id] = mirrored(item(id, "k1", read: false)) }
        }
        let current = [item("same", "k1"), item("read", "k1", read: true), item("both", "k2", read: true), item("new", "k1", read: true)]
        let changes = [
            change(.readFlagChange, "both", read: true),  // before its Create, whose ChangeKey moved: fetched
            change(.create, "same", "k1"), change(.readFlagChange, "same", read: false),
            change(.create, "read", "k1"), change(.readFlagChange, "read", read: true),
            change(.create, "both", "k2"),
            change(.create, "new", "k1"), change(.readFlagChange, "new", read: true),
        ]
        let service = ScriptedService(pages: [.init(changes: changes, last: true)], items: current)
        _ = try await FolderSyncer(service: service, store: store).sync(target, folder: "inbox", fromScratch: true)
        store.state.withLock { s in
            #expect(s.outbox.map { "\($0.itemID):\($0.kind.rawValue)" }.sorted() == ["both:read_flag", "new:created", "read:read_flag"])
            #expect(s.mirror["read"]?.isRead == true && s.mirror["both"]?.isRead == true && s.mirror["new"]?.isRead == true)
        }
        #expect(service.getItemBatches.withLock { $0 } == [2], "both and new")
    }

    @Test func anItemGoneBeforeGetItemIsSkipped() async throws {
        let store = MemoryStore()
        let service = ScriptedService(pages: [.init(changes: [change(.create, "vanished", "k"), change(.create, "here", "k")], last: true)],
                                      items: [item("here", "k")])
        let summary = try await FolderSyncer(service: service, store: store).sync(target, folder: "inbox", fromScratch: false)
        #expect(summary.changesInserted == 1)
    }

    @Test func aFailedCommitLosesNothingAndTheRetryRepeatsNothing() async throws {
        let store = MemoryStore()
        store.state.withLock { $0.syncStates["inbox"] = "s1"; $0.failCommitNumber = 2 }
        let pages = [ScriptedService.Page(changes: [], last: true),
                     ScriptedService.Page(changes: [change(.create, "a", "k")], last: false),
                     ScriptedService.Page(changes: [change(.create, "b", "k")], last: true)]
        let service = ScriptedService(pages: pages, items: [item("a", "k"), item("b", "k")])
        let syncer = FolderSyncer(service: service, store: store)
        await #expect(throws: CancellationError.self) { try await syncer.sync(target, folder: "inbox", fromScratch: false) }
        store.state.withLock { #expect($0.outbox.map(\.itemID) == ["a"] && $0.syncStates["inbox"] == "s2") }
        _ = try await syncer.sync(target, folder: "inbox", fromScratch: false)
        store.state.withLock { #expect($0.outbox.map(\.itemID) == ["a", "b"] && $0.syncStates["inbox"] == "s3") }
    }

    @Test func anErrorPageIsClassifiedByTheActionTable() async throws {
        struct Failing: SyncService {
            func syncFolderItems(mailbox: String, folder: String, syncState: String?, maxChanges: Int, readState: Bool,
                                 ignore: [String]) async throws -> SyncFolderItemsResponseMessage {
                SyncFolderItemsResponseMessage(status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorInvalidSyncStateData"),
                                               syncState: "", includesLastItemInRange: true, changes: [])
            }
            func getItems(mailbox: String, ids: [EWSItemID], fields: Set<ItemField>) async throws -> [GetItemResponseMessage] { [] }
            func findItems(mailbox: String, folder: String, fields: Set<ItemField>, restriction: EWSRestriction?,
                           order: FindItemRequest.Order, offset: Int, maxEntries: Int) async throws -> FindItemResponseMessage {
                FindItemResponseMessage(status: .noError, items: [], includesLastItemInRange: true, indexedPagingOffset: 0,
                                        totalItemsInView: 0)
            }
        }
        await #expect(performing: {
            try await FolderSyncer(service: Failing(), store: MemoryStore()).sync(target, folder: "inbox", fromScratch: false)
        }, throws: { ($0 as? EWSCallError)?.decision.action == .fullResync })
    }

    /// A page without IncludesLastItemInRange is malformed: a bounded retry, then the folder's sync
    /// fails. Taken as the last page, a sync from scratch would record every mirrored item not yet
    /// reported as deleted.
    @Test func aPageWithoutIncludesLastItemInRangeIsMalformedAndRecordsNothing() async throws {
        let store = MemoryStore()
        store.state.withLock { $0.mirror = ["a": .init(changeKey: "k1", isRead: false), "b": .init(changeKey: "k1", isRead: false)] }
        let service = ScriptedService(pages: [.init(changes: [change(.create, "a", "k1")], last: nil)], items: [item("a", "k1")])
        await #expect(performing: {
            try await FolderSyncer(service: service, store: store).sync(target, folder: "inbox", fromScratch: true)
        }, throws: { error in
            guard let error = error as? EWSCallError, error.decision.code == "MalformedResponse",
                  case .retryBounded(_, then: .giveUp) = error.decision.action else { return false }
            return true
        })
        store.state.withLock { s in
            #expect(s.outbox.isEmpty)
            #expect(Set(s.mirror.keys) == ["a", "b"])
            #expect(s.syncStates["inbox"] == nil)
        }
    }

    @Test func anUpdateThatOnlyFlipsIsReadIsAReadStateChange() async throws {
        // gromox reports reads as t:Update with a new ChangeKey, not as t:ReadFlagChange.
        let store = MemoryStore()
        store.state.withLock { s in
            s.syncStates["inbox"] = "s1"
            for it in [item("a", "k1"), item("b", "k1")] {
                s.mirror[it.itemID.id] = .init(changeKey: "k1", isRead: false)
                s.rows[it.itemID.id] = mirrored(it)
            }
        }
        let pages = [ScriptedService.Page(changes: [], last: true),
                     ScriptedService.Page(changes: [change(.update, "a", "k2"), change(.update, "b", "k2")], last: true),
                     ScriptedService.Page(changes: [change(.update, "a", "k3")], last: true)]
        let service = ScriptedService(pages: pages, items: [item("a", "k2", read: true), item("b", "k2", subject: "edited")])
        _ = try await FolderSyncer(service: service, store: store).sync(target, folder: "inbox", fromScratch: false)
        store.state.withLock { s in
            #expect(s.outbox.map(\.kind) == [.readFlag, .updated], "a: only IsRead changed; b: its subject changed")
            #expect(s.outbox.first?.isRead == true)
        }
        // Unread again: another read-state row with the new state.
        service.items.withLock { $0["a"] = item("a", "k3", read: false) }
        _ = try await FolderSyncer(service: service, store: store).sync(target, folder: "inbox", fromScratch: false)
        store.state.withLock { s in
            #expect(s.outbox.map(\.kind) == [.readFlag, .updated, .readFlag])
            #expect(s.outbox.last?.isRead == false)
        }
    }
}

/// Fakes that serve no calendar refuse calendar calls.
extension SyncService {
    func calendarView(mailbox: String, folder: String, window: CalendarWindow, maxEntries: Int) async throws -> FindItemResponseMessage {
        throw EWSCallError(status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorCalendarFolderIsInvalidForCalendarView"))
    }
    func getCalendarItems(mailbox: String, ids: [EWSItemID], mastersOf: [String]) async throws -> [GetItemResponseMessage] {
        throw EWSCallError(status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorItemNotFound"))
    }
}
