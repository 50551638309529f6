import EWS
import Foundation
import Store

/// The calendar folder, the guidance's way: SyncFolderItems has no calendaring logic (a series is
/// one item to it), so notifications (and the safety sync, and the timer of sync-only mode) say
/// when, and a CalendarView over the tenant's window says what: the server expands each series
/// into its occurrences and exceptions, and each entry is a mirror row of its own.
extension FolderSyncer {
    /// The watched folder that is synced this way: the mailbox's default calendar.
    static let calendarFolder = "calendar"

    /// CalendarView over the window at `now` (`calendarWindow`, whole UTC days, so it moves once a
    /// day and the first sync after 00:00 UTC records what entered it as `created` and what left it
    /// as `deleted`), split where it holds more than `calendarPageSize` entries; diffed against the
    /// folder's mirror by id and ChangeKey; what is new or changed is fetched with GetItem (10 per
    /// call) with its start, end, subject, organizer, location, CalendarItemType and UID, and an
    /// occurrence's or exception's recurring master is looked up once per series
    /// (`RecurringMasterItemId`, 10 per call). Mirror entries the view no longer holds leave with a
    /// `deleted` row. No SyncState: the diff against the mirror, committed with the rows, keeps a
    /// repeated sync from recording twice. With `--start now` the first view is mirrored without rows.
    func syncCalendar(_ target: Target, folder: String) async throws -> Summary {
        let bounds = calendarWindow.window(at: now())
        let listed = try await listCalendar(target, folder: folder, window: CalendarWindow(start: bounds.start, end: bounds.end))
        let mirror = try await store.mirror(mailboxID: target.mailboxID, folder: folder)
        var baseline = false
        if target.startsNow {
            baseline = mirror.isEmpty
            if !baseline { baseline = try await store.baselining(mailboxID: target.mailboxID, folder: folder) }
        }
        let present = Set(listed.map(\.itemID.id))
        let changed = listed.filter { entry in
            guard let known = mirror[entry.itemID.id], let key = entry.itemID.changeKey, !key.isEmpty else { return true }
            return known.changeKey != key
        }
        let gone = mirror.keys.filter { !present.contains($0) }.sorted()
        let masters = try await recurringMasters(of: changed, target: target)
        return try await commitInChunks(changed, gone: gone, target, folder: folder, step: SyncStep.fresh("calendar"),
                                        baseline: baseline, fill: { chunk, cp in
            try await fetchInBatches(chunk, get: { batch in
                try await service.getCalendarItems(mailbox: target.mailbox, ids: batch.map(\.itemID), mastersOf: [])
            }, record: { entry, wanted in
                recordCalendar(entry, master: entry.uid.flatMap { masters[$0] }, known: mirror[wanted.itemID.id] != nil,
                               baseline: baseline, into: &cp)
            })
        }, finish: { _ in })
    }

    /// The window's entries, once each. A window the server answers with IncludesLastItemInRange
    /// false holds more than a page: CalendarView does not page, so it is split in two halves
    /// (each listed the same way) rather than truncated; an entry that spans the split is in both
    /// halves and is kept once. A window of an hour that still holds more fails the sync.
    func listCalendar(_ target: Target, folder: String, window: CalendarWindow) async throws -> [EWSItem] {
        let page = try await service.calendarView(mailbox: target.mailbox, folder: folder, window: window, maxEntries: calendarPageSize)
        guard page.status.isSuccess else { throw EWSCallError(status: page.status) }
        guard let last = page.includesLastItemInRange else { throw EWSCallError.malformed("FindItem page without IncludesLastItemInRange") }
        if last { return page.items }
        let span = window.end.timeIntervalSince(window.start)
        guard span > 3600 else {
            throw EWSCallError.malformed("more than \(calendarPageSize) calendar entries within one hour (\(window))")
        }
        let middle = window.start.addingTimeInterval((span / 2).rounded(.down))
        let earlier = try await listCalendar(target, folder: folder, window: CalendarWindow(start: window.start, end: middle))
        let later = try await listCalendar(target, folder: folder, window: CalendarWindow(start: middle, end: window.end))
        var seen = Set(earlier.map(\.itemID.id))
        return earlier + later.filter { seen.insert($0.itemID.id).inserted }
    }

    /// UID → the recurring master's id, for the series whose occurrences or exceptions changed:
    /// one `RecurringMasterItemId` lookup per series, 10 per GetItem.
    func recurringMasters(of entries: [EWSItem], target: Target) async throws -> [String: String] {
        var occurrenceByUID: [String: String] = [:]
        for entry in entries where entry.calendarItemType == "Occurrence" || entry.calendarItemType == "Exception" {
            if let uid = entry.uid, occurrenceByUID[uid] == nil { occurrenceByUID[uid] = entry.itemID.id }
        }
        let lookups = occurrenceByUID.sorted { $0.key < $1.key }
        var masters: [String: String] = [:]
        for start in stride(from: 0, to: lookups.count, by: getItemBatch) {
            let batch = Array(lookups[start..<min(start + getItemBatch, lookups.count)])
            let messages = try await service.getCalendarItems(mailbox: target.mailbox, ids: [], mastersOf: batch.map(\.value))
            for (message, (uid, _)) in zip(messages, batch) where message.status.isSuccess {
                if let master = message.items.first { masters[uid] = master.itemID.id }
            }
        }
        return masters
    }

    /// A calendar entry's mirror row and its outbox row (none in a baseline).
    func recordCalendar(_ entry: EWSItem, master: String?, known: Bool, baseline: Bool, into cp: inout Checkpoint) {
        let key = entry.itemID.changeKey ?? ""
        let details = ItemDetails(start: entry.start, end: entry.end, location: entry.location, organizer: entry.organizer?.address,
                                  calendarItemType: entry.calendarItemType, masterID: master, uid: entry.uid)
        let row = MirrorItem(folderID: cp.folderID, itemID: entry.itemID.id, changeKey: key, isRead: nil, subject: entry.subject,
                             sender: entry.organizer?.address, receivedAt: nil, size: nil, hasAttachments: nil, details: details)
        cp.upserts.append(row)
        if baseline { return }
        cp.changes.append(ChangeRecord(folderID: cp.folderID, itemID: row.itemID, changeKey: key, kind: known ? .updated : .created,
                                       properties: Self.calendarProperties(subject: entry.subject, details)))
    }

    /// `changes.properties` of a calendar row: what the mirror row holds, whatever the profile.
    static func calendarProperties(subject: String?, _ d: ItemDetails) -> Data {
        var object: [String: Any] = [:]
        let fields: [(String, String?)] = [("subject", subject), ("start", d.start), ("end", d.end), ("location", d.location),
                                           ("organizer", d.organizer), ("calendar_item_type", d.calendarItemType),
                                           ("master_id", d.masterID), ("uid", d.uid)]
        for (name, value) in fields { if let value { object[name] = value } }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
    }
}
