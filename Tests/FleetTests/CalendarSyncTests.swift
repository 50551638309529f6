@testable import EWS
import Foundation
@testable import Fleet
import Store
import Synchronization
import Testing

/// The calendar folder is viewed, not synced: CalendarView over the tenant's window, split where
/// it holds more than a page, diffed against the mirror; each occurrence a row of its own.
@Suite struct CalendarSyncTests {
    /// A server's calendar: entries with their times; CalendarView answers those that end after
    /// the window's start and start before its end, at most `maxEntries`.
    final class Calendar: SyncService, @unchecked Sendable {
        struct Entry { var id: String; var key: String; var start: Date; var end: Date; var type: String; var uid: String }
        let lock = Mutex<[Entry]>([])
        let windows = Mutex<[CalendarWindow]>([])
        let getItemSizes = Mutex<[Int]>([])
        let masterLookups = Mutex<[String]>([])

        func syncFolderItems(mailbox: String, folder: String, syncState: String?, maxChanges: Int, readState: Bool,
                             ignore: [String]) async throws -> SyncFolderItemsResponseMessage {
            Issue.record("SyncFolderItems on the calendar")
            return SyncFolderItemsResponseMessage(status: .noError, syncState: "s", includesLastItemInRange: true, changes: [])
        }
        func getItems(mailbox: String, ids: [EWSItemID], fields: Set<ItemField>) async throws -> [GetItemResponseMessage] { [] }
        func findItems(mailbox: String, folder: String, fields: Set<ItemField>, restriction: EWSRestriction?,
                       order: FindItemRequest.Order, offset: Int, maxEntries: Int) async throws -> FindItemResponseMessage {
            Issue.record("an indexed FindItem on the calendar")
            return FindItemResponseMessage(status: .noError, items: [], includesLastItemInRange: true, indexedPagingOffset: 0, totalItemsInView: 0)
        }
        func calendarView(mailbox: String, folder: String, window: CalendarWindow, maxEntries: Int) async throws -> FindItemResponseMessage {
            windows.withLock { $0.append(window) }
            let inView = lock.withLock { $0 }.filter { $0.end > window.start && $0.start < window.end }.sorted { $0.start < $1.start }
            let page = inView.prefix(maxEntries).map { e in
                var item = EWSItem(itemType: "CalendarItem", itemID: EWSItemID(id: e.id, changeKey: e.key))
                item.uid = e.uid
                item.calendarItemType = e.type
                return item
            }
            return FindItemResponseMessage(status: .noError, items: Array(page), includesLastItemInRange: page.count == inView.count,
                                           indexedPagingOffset: nil, totalItemsInView: inView.count)
        }
        func getCalendarItems(mailbox: String, ids: [EWSItemID], mastersOf: [String]) async throws -> [GetItemResponseMessage] {
            if !ids.isEmpty { getItemSizes.withLock { $0.append(ids.count) } }
            masterLookups.withLock { $0 += mastersOf }
            let all = lock.withLock { $0 }
            let items = ids.map { id -> GetItemResponseMessage in
                guard let e = all.first(where: { $0.id == id.id }) else {
                    return GetItemResponseMessage(status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorItemNotFound"), items: [])
                }
                var item = EWSItem(itemType: "CalendarItem", itemID: EWSItemID(id: e.id, changeKey: e.key), subject: "s-\(e.id)")
                item.start = e.start.formatted(.iso8601)
                item.end = e.end.formatted(.iso8601)
                item.location = "Room 1"
                item.organizer = .init(name: "ann", emailAddress: "ann@example.com")
                item.calendarItemType = e.type
                item.uid = e.uid
                return GetItemResponseMessage(status: .noError, items: [item])
            }
            let masters = mastersOf.map { occurrence -> GetItemResponseMessage in
                let uid = all.first { $0.id == occurrence }?.uid ?? "?"
                return GetItemResponseMessage(status: .noError, items: [EWSItem(itemType: "CalendarItem", itemID: EWSItemID(id: "master-\(uid)"))])
            }
            return items + masters
        }
    }

    static let day: TimeInterval = 86_400
    static let monday = Date(timeIntervalSince1970: 1_796_083_200)  // 2026-12-07 00:00 UTC

    static func syncer(_ service: Calendar, _ store: MemoryStore, at now: Date, window: CalendarWindowSetting) -> FolderSyncer {
        var syncer = FolderSyncer(service: service, store: store)
        syncer.calendarWindow = window
        syncer.now = { now }
        return syncer
    }

    @Test func occurrencesAreRowsWithTheirSeriesAndTheWindowMovesDaily() async throws {
        let service = Calendar()
        let t0 = Self.monday.addingTimeInterval(9 * 3600)
        // A daily series of 5 from Monday 09:00, a single appointment on Wednesday, one far ahead.
        service.lock.withLock { entries in
            for n in 0..<5 {
                let start = t0.addingTimeInterval(Double(n) * Self.day)
                entries.append(.init(id: "occ\(n)", key: "k1", start: start, end: start.addingTimeInterval(1800),
                                     type: n == 2 ? "Exception" : "Occurrence", uid: "series"))
            }
            entries.append(.init(id: "single", key: "k1", start: t0.addingTimeInterval(2 * Self.day), end: t0.addingTimeInterval(2 * Self.day + 3600),
                                 type: "Single", uid: "single-uid"))
            entries.append(.init(id: "later", key: "k1", start: t0.addingTimeInterval(30 * Self.day), end: t0.addingTimeInterval(30 * Self.day + 60),
                                 type: "Single", uid: "later-uid"))
        }
        let store = MemoryStore()
        let window = CalendarWindowSetting(daysBack: 0, daysAhead: 2)  // Monday to the end of Wednesday
        _ = try await Self.syncer(service, store, at: t0, window: window).sync(target, folder: "calendar", fromScratch: false)
        #expect(service.windows.withLock { $0 } == [CalendarWindow(start: Self.monday, end: Self.monday.addingTimeInterval(3 * Self.day))])
        var rows = store.state.withLock { $0.outbox }
        #expect(rows.map { "\($0.itemID):\($0.kind.rawValue)" } .sorted() == ["occ0:created", "occ1:created", "occ2:created", "single:created"])
        #expect(service.masterLookups.withLock { $0 }.count == 1, "one RecurringMasterItemId lookup per series")
        let occ2 = try #require(rows.first { $0.itemID == "occ2" })
        let properties = try #require(try JSONSerialization.jsonObject(with: occ2.properties) as? [String: String])
        #expect(properties["master_id"] == "master-series" && properties["calendar_item_type"] == "Exception")
        #expect(properties["start"] == t0.addingTimeInterval(2 * Self.day).formatted(.iso8601) && properties["organizer"] == "ann@example.com")
        #expect(store.state.withLock { $0.rows["occ1"]?.details.masterID } == "master-series")

        // The next day the window has moved: Monday's occurrence leaves it, Thursday's enters.
        _ = try await Self.syncer(service, store, at: t0.addingTimeInterval(Self.day), window: window)
            .sync(target, folder: "calendar", fromScratch: false)
        rows = store.state.withLock { $0.outbox }
        #expect(rows.dropFirst(4).map { "\($0.itemID):\($0.kind.rawValue)" } == ["occ3:created", "occ0:deleted"])
        // Nothing changed: a sync records nothing.
        #expect(try await Self.syncer(service, store, at: t0.addingTimeInterval(Self.day), window: window)
            .sync(target, folder: "calendar", fromScratch: false).changesInserted == 0)
    }

    /// A window with more entries than MaxEntriesReturned is split, not truncated; an entry that
    /// spans the split is kept once.
    @Test func aFullWindowIsSplitNotTruncated() async throws {
        let service = Calendar()
        service.lock.withLock { entries in
            for n in 0..<25 {
                let start = Self.monday.addingTimeInterval(Double(n) * 3 * 3600)
                entries.append(.init(id: "e\(n)", key: "k", start: start, end: start.addingTimeInterval(4 * 3600), type: "Single", uid: "u\(n)"))
            }
        }
        let store = MemoryStore()
        var syncer = Self.syncer(service, store, at: Self.monday, window: CalendarWindowSetting(daysBack: 0, daysAhead: 3))
        syncer.calendarPageSize = 10
        let summary = try await syncer.sync(target, folder: "calendar", fromScratch: false)
        #expect(service.windows.withLock { $0 }.count > 1)
        #expect(store.state.withLock { Set($0.mirror.keys) } == Set((0..<25).map { "e\($0)" }))
        #expect(summary.changesInserted == 25, "one created row each, none twice")
        #expect(service.getItemSizes.withLock { $0 }.allSatisfy { $0 <= 10 })
    }

    @Test func theWindowSettingParsesAndAlignsToUTCDays() throws {
        #expect(try CalendarWindowSetting(parsing: "30d,365d") == .default)
        #expect(try CalendarWindowSetting(parsing: " 7 , 90d ").description == "7d,90d")
        for bad in ["", "30d", "30d,", "-1d,3d", "1d,3651d", "30w,365d", "x,y"] {
            #expect(throws: StoreError.self, "\(bad)") { try CalendarWindowSetting(parsing: bad) }
        }
        let window = CalendarWindowSetting(daysBack: 1, daysAhead: 0).window(at: Self.monday.addingTimeInterval(23 * 3600))
        #expect(window.start == Self.monday.addingTimeInterval(-Self.day) && window.end == Self.monday.addingTimeInterval(Self.day))
    }
}
