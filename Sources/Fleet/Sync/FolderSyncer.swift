import EWS
import Foundation
import Store

/// The change pipeline for one folder: SyncFolderItems (IdOnly) from the stored SyncState until the
/// server says IncludesLastItemInRange; Create/Update fetched with GetItem in batches of at most 10;
/// ReadFlagChange needs no GetItem; Delete leaves the mirror. Each page is ONE checkpoint
/// transaction, so a crash between pages loses nothing and repeats nothing.
///
/// A sync "from scratch" (first sync, or after ErrorInvalidSyncStateData) diffs every reported item
/// against the mirror and emits only real differences; items the mirror has but the server no longer
/// reports become `deleted` on the last page. Until that last page its SyncState is not persisted:
/// a crash restarts the full resync, whose diff against the committed mirror makes it harmless.
///
/// A *baseline* (`--start now`, for a folder with no SyncState and nothing mirrored) records what
/// the folder holds in the mirror without an outbox row and without a GetItem: the sync pages carry
/// IsRead (AdditionalProperties), so the mirror still matches the folder's read states. Only an
/// item whose page lacks IsRead (a server that ignores the property) is fetched, still silently.
/// From its last page on, the folder syncs like any other, so every later change is recorded.
///
/// Items on the mailbox's ignore list go in every request's `Ignore` element: the server skips
/// them, so their changes are not recorded (by design, e.g. during a reply-all storm). A server
/// that reports them anyway (gromox 3.10 does not implement `Ignore`) has them dropped here.
struct FolderSyncer: Sendable {
    struct Target: Sendable {
        var tenant: String
        var mailboxID: Int64
        var mailbox: String
        var lease: LeaseToken?
        /// `mailbox add --start now`: a folder it knows nothing of (no SyncState, nothing mirrored)
        /// is baselined, not backfilled (see `sync`).
        var startsNow = false
        /// `--filter`: only items it matches reach the mirror and the outbox (see `syncScoped`).
        var filter: MailboxFilter? = nil
    }

    struct Summary: Sendable, Equatable {
        var pages = 0
        var changesInserted = 0
        var itemsFetched = 0
    }

    let service: any SyncService
    let store: any SyncStore
    var pageSize = 512
    var getItemBatch = 10
    /// What the outbox rows of fetched items carry (the tenant's `--properties`).
    var profile: PropertyProfile = .default
    /// FindItem's page size when a filter's scope is listed (EWSFindCountLimit allows 250 with a
    /// restriction, 1000 without).
    var findPageSize = FindItemRequest.restrictedPageLimit
    /// How far the calendar is viewed (the tenant's `--calendar-window`).
    var calendarWindow: CalendarWindowSetting = .default
    /// MaxEntriesReturned of a CalendarView; a window holding more is split.
    var calendarPageSize = FindItemRequest.pageLimit
    /// When a sync page was received, for `changes.observed_at`.
    var now: @Sendable () -> Date = { Date() }

    /// What one sync carries from page to page.
    struct Pass {
        /// No SyncState: every item is reported (as Create) and diffed against the mirror.
        let scratch: Bool
        let baseline: Bool
        /// From scratch: the folder's mirror as the sync found it.
        let mirror: [String: MirrorRepository.MirrorEntry]
        /// From scratch: mirrored items not reported yet; what is left after the last page is gone.
        var unreported: [String: MirrorRepository.MirrorEntry]
        /// From scratch: items whose read-state change this sync already recorded (by a fetch or
        /// a ReadFlagChange), so the other kind of report of it records nothing more.
        var readRecorded: Set<String> = []
        /// The mailbox's ignore list: passed in `Ignore`, and dropped from the pages too, for a
        /// server that does not implement `Ignore` (gromox 3.10).
        let ignored: Set<String>
        /// The mailbox's filtered scope, if any: a fetched item outside it is not mirrored, and
        /// leaves the mirror (a `deleted` row) if it was there.
        var filter: MailboxFilter? = nil

        init(scratch: Bool, baseline: Bool, mirror: [String: MirrorRepository.MirrorEntry], ignored: [String]) {
            self.scratch = scratch
            self.baseline = baseline
            self.mirror = mirror
            let ignoredSet = Set(ignored)
            self.ignored = ignoredSet
            // Ignored items are not reported, so a sync from scratch must not take them for deleted.
            unreported = mirror.filter { !ignoredSet.contains($0.key) }
        }
    }

    /// What GetItem (and FindItem) ask for: the profile's fields and what a filter judges by.
    func fetchFields(filtered: Bool) -> Set<ItemField> {
        profile.fields.union(filtered ? FilterScope.fields : [])
    }

    func sync(_ target: Target, folder: String, fromScratch: Bool) async throws -> Summary {
        // SyncFolderItems refuses search folders: they are listed and diffed every time.
        if FolderNames.searchFolderName(folder) != nil { return try await syncSearch(target, folder: folder) }
        // Nor can it expand a calendar's series: the calendar is viewed over a window.
        if folder == Self.calendarFolder { return try await syncCalendar(target, folder: folder) }
        var summary = Summary()
        var state = fromScratch ? nil : try await store.syncState(mailboxID: target.mailboxID, folder: folder)
        // A mirror scoped under another filter (or none) is scoped again: from scratch, diffed.
        let scope = target.filter?.description ?? ""
        if state != nil, try await store.filterScope(mailboxID: target.mailboxID, folder: folder) != scope { state = nil }
        if state == nil, target.filter != nil { return try await syncScoped(target, folder: folder) }
        let scratch = state == nil
        let mirror = scratch ? try await store.mirror(mailboxID: target.mailboxID, folder: folder) : [:]
        // A folder the mailbox knows nothing of yet, or one whose baseline was interrupted.
        var baseline = false
        if scratch && target.startsNow {
            baseline = mirror.isEmpty
            if !baseline { baseline = try await store.baselining(mailboxID: target.mailboxID, folder: folder) }
        }
        let ignored = try await store.ignored(mailboxID: target.mailboxID)
        var pass = Pass(scratch: scratch, baseline: baseline, mirror: mirror, ignored: ignored)
        pass.filter = target.filter
        while true {
            let page = try await service.syncFolderItems(mailbox: target.mailbox, folder: folder, syncState: state,
                                                         maxChanges: pageSize, readState: baseline, ignore: ignored)
            let observed = now()
            guard page.status.isSuccess else { throw EWSCallError(status: page.status) }
            // A page that does not say whether it is the last is malformed: taken as the last, a
            // sync from scratch would record every item not yet reported as deleted.
            guard let last = page.includesLastItemInRange else {
                throw EWSCallError.malformed("SyncFolderItems page without IncludesLastItemInRange")
            }
            // From scratch, every page is diffed against the mirror; incrementally, the page is
            // named by the state it was asked with, so committing it twice inserts nothing twice.
            let step = scratch ? SyncStep.fresh("scratch") : SyncStep.incremental(from: state ?? "")
            var cp = Checkpoint(lease: target.lease, tenant: target.tenant, mailboxID: target.mailboxID,
                                mailbox: target.mailbox, folderID: folder, syncState: "", syncStep: step,
                                observedAt: observed)
            let fetched = try await apply(page.changes, to: &cp, pass: &pass, target: target)
            summary.itemsFetched += fetched
            if scratch && last {
                // Whatever the mirror still holds was not reported by a from-scratch sync: it is gone.
                for (itemID, _) in pass.unreported.sorted(by: { $0.key < $1.key }) {
                    cp.deletes.append(itemID)
                    cp.changes.append(ChangeRecord(folderID: folder, itemID: itemID, changeKey: "", kind: .deleted))
                }
                cp.completesFullSync = true
                cp.filterScope = scope
            }
            state = page.syncState
            cp.syncState = scratch && !last ? "" : (page.syncState ?? "")
            cp.baselining = baseline && !last
            let inserted = try await store.commit(cp)
            FleetMetrics.syncPageCommitted(changes: inserted)
            summary.changesInserted += inserted
            summary.pages += 1
            if last { return summary }
        }
    }

    /// Turns one page's changes into mirror updates and outbox rows. Returns items fetched.
    func apply(_ changes: [EWSItemChange], to cp: inout Checkpoint, pass: inout Pass,
                       target: Target) async throws -> Int {
        // Items to fetch, and whether the mirror had them. Incremental pages say it (Create or
        // Update); from-scratch pages report everything as Create, so the mirror decides.
        var toFetch: [(id: EWSItemID, known: Bool)] = []
        // Under a filter, a read of an item outside the scope is nothing: only mirrored items count.
        var readable: Set<String>?
        if pass.filter != nil, !pass.scratch {
            let reads = changes.filter { $0.kind == .readFlagChange }.map(\.itemID.id)
            readable = reads.isEmpty ? [] : Set(try await store.mirrorItems(mailboxID: target.mailboxID, folder: cp.folderID, itemIDs: reads).keys)
        }
        for change in changes {
            let id = change.itemID.id
            let key = change.itemID.changeKey ?? ""
            if pass.ignored.contains(id) { continue }
            switch change.kind {
            case .create where pass.baseline, .update where pass.baseline:
                // Reported, so not gone (an interrupted baseline's mirror already holds some).
                pass.unreported.removeValue(forKey: id)
                guard let isRead = change.isRead else {
                    toFetch.append((change.itemID, false))
                    continue
                }
                cp.upserts.append(MirrorItem(folderID: cp.folderID, itemID: id, changeKey: key, isRead: isRead, subject: nil,
                                             sender: nil, receivedAt: nil, size: nil, hasAttachments: nil))
            case .create, .update:
                if pass.scratch {
                    let known = pass.unreported.removeValue(forKey: id) ?? pass.mirror[id]
                    if let known, known.changeKey == key, !key.isEmpty { continue }  // unchanged
                    toFetch.append((change.itemID, known != nil))
                } else {
                    toFetch.append((change.itemID, change.kind == .update))
                }
            case .readFlagChange where pass.scratch:
                // From scratch, gromox follows the Create of each item whose read state ever
                // changed with a ReadFlagChange (captured from 3.10). Only a read state that
                // differs from the mirror's is a change, and only once: an item the mirror does
                // not hold is recorded by its Create (or its baseline), and one fetched because
                // its ChangeKey moved is recorded by that fetch.
                let isRead = change.isRead ?? false
                guard let known = pass.mirror[id], known.isRead != isRead, !pass.readRecorded.contains(id) else { continue }
                pass.readRecorded.insert(id)
                cp.readFlags.append(ReadFlagUpdate(itemID: id, changeKey: key, isRead: isRead))
                cp.changes.append(ChangeRecord(folderID: cp.folderID, itemID: id, changeKey: key, kind: .readFlag,
                                               isRead: isRead))
            case .readFlagChange:
                if let readable, !readable.contains(id) { continue }
                let isRead = change.isRead ?? false
                cp.readFlags.append(ReadFlagUpdate(itemID: id, changeKey: key, isRead: isRead))
                cp.changes.append(ChangeRecord(folderID: cp.folderID, itemID: id, changeKey: key, kind: .readFlag,
                                               isRead: isRead))
            case .delete:
                pass.unreported.removeValue(forKey: id)
                cp.deletes.append(id)
                cp.changes.append(ChangeRecord(folderID: cp.folderID, itemID: id, changeKey: "", kind: .deleted))
            }
        }
        // What the mirror holds of the items that changed: an Update that only flips IsRead is a
        // read-state change (gromox reports reads this way, not as ReadFlagChange).
        // Under a filter the mirror decides what is known: an Update of an item outside the scope
        // that now matches it enters the scope (`created`).
        let knownIDs = pass.filter == nil ? toFetch.filter(\.known).map(\.id.id) : toFetch.map(\.id.id)
        let before = knownIDs.isEmpty
            ? [:] : try await store.mirrorItems(mailboxID: target.mailboxID, folder: cp.folderID, itemIDs: knownIDs)
        return try await fetch(toFetch, before: before, into: &cp, pass: &pass, target: target)
    }

    /// GetItem in batches of `getItemBatch`, each item recorded. Returns items fetched.
    func fetch(_ toFetch: [(id: EWSItemID, known: Bool)], before: [String: MirrorItem], into cp: inout Checkpoint,
               pass: inout Pass, target: Target) async throws -> Int {
        let fields = fetchFields(filtered: pass.filter != nil)
        return try await fetchInBatches(toFetch, get: { batch in
            try await service.getItems(mailbox: target.mailbox, ids: batch.map(\.id), fields: fields)
        }, record: { item, wanted in
            let known = pass.filter == nil ? wanted.known : before[wanted.id.id] != nil
            record(item, fields: fields, into: &cp, known: known, before: before[wanted.id.id], pass: &pass)
        })
    }

    /// GetItem over `wanted` in batches of `getItemBatch`: `get` makes one call, `record` takes
    /// each item it answered. An item gone since it was listed (deleted or moved; a calendar
    /// series changed) is skipped: the folder's next sync reconciles it. Returns items recorded.
    func fetchInBatches<Wanted>(_ wanted: [Wanted], get: ([Wanted]) async throws -> [GetItemResponseMessage],
                                record: (EWSItem, Wanted) throws -> Void) async throws -> Int {
        var fetched = 0
        for start in stride(from: 0, to: wanted.count, by: getItemBatch) {
            let batch = Array(wanted[start..<min(start + getItemBatch, wanted.count)])
            for (message, wanted) in zip(try await get(batch), batch) {
                guard message.status.isSuccess, let item = message.items.first else {
                    let failure = EWSCallError(status: message.status)
                    if failure.decision.action == .skipItem { continue }
                    throw failure
                }
                fetched += 1
                try record(item, wanted)
            }
        }
        return fetched
    }

    /// Mirrors a fetched (or, in a baseline, listed) item and writes its outbox row. A baseline's
    /// item gets no row; an item outside the mailbox's filter is not mirrored, and leaves the
    /// mirror with a `deleted` row if it was there. `fields`: what it was fetched with
    /// (`fetchFields`, computed once per batch, not per item).
    func record(_ item: EWSItem, fields: Set<ItemField>, into cp: inout Checkpoint, known: Bool, before: MirrorItem?,
                pass: inout Pass) {
        let key = item.itemID.changeKey ?? ""
        if let filter = pass.filter, !filter.matches(FilterScope.subject(of: item)) {
            // Outside the scope: not mirrored; one that was leaves it.
            if known {
                cp.deletes.append(item.itemID.id)
                cp.changes.append(ChangeRecord(folderID: cp.folderID, itemID: item.itemID.id, changeKey: "", kind: .deleted))
            }
            return
        }
        let mirrored = MirrorItem(
            folderID: cp.folderID, itemID: item.itemID.id, changeKey: key, isRead: item.isRead, subject: item.subject,
            sender: item.sender?.address, receivedAt: item.dateTimeReceived.flatMap(Self.parseDate),
            size: item.size.map(Int64.init), hasAttachments: item.hasAttachments,
            details: Self.details(of: item, fields: fields))
        cp.upserts.append(mirrored)
        if pass.baseline { return }
        let kind: ChangeKind
        if !known {
            kind = .created
        } else if let before, mirrored.differsOnlyInReadState(from: before) {
            // Recorded once per sync, whether this fetch or a ReadFlagChange of it comes first.
            if pass.scratch, !pass.readRecorded.insert(mirrored.itemID).inserted { return }
            kind = .readFlag
        } else {
            kind = .updated
        }
        cp.changes.append(ChangeRecord(folderID: cp.folderID, itemID: mirrored.itemID, changeKey: key, kind: kind,
                                       isRead: item.isRead,
                                       properties: Self.properties(of: mirrored, body: item.body, profile: profile)))
    }

    /// The fetched fields beyond the mirror's columns (a server may send more than was asked).
    static func details(of item: EWSItem, fields: Set<ItemField>) -> ItemDetails {
        func wanted<T>(_ field: ItemField, _ value: T?) -> T? { fields.contains(field) ? value : nil }
        return ItemDetails(
            internetMessageID: wanted(.internetMessageID, item.internetMessageID),
            conversationID: wanted(.conversationID, item.conversationID),
            from: wanted(.from, item.from?.address),
            to: wanted(.to, item.toRecipients?.compactMap(\.address)),
            cc: wanted(.cc, item.ccRecipients?.compactMap(\.address)),
            categories: wanted(.categories, item.categories),
            importance: wanted(.importance, item.importance),
            flagStatus: wanted(.flagStatus, item.flagStatus))
    }

    /// `changes.properties`: the profile's fields that the server sent (JSON keys: `ItemField`).
    static func properties(of item: MirrorItem, body: String?, profile: PropertyProfile) -> Data {
        var object: [String: Any] = [:]
        func put(_ field: ItemField, _ value: Any?) {
            if let value, profile.carries(field) { object[field.rawValue] = value }
        }
        put(.subject, item.subject)
        put(.sender, item.sender)
        put(.receivedAt, item.receivedAt?.formatted(.iso8601))
        put(.size, item.size)
        put(.hasAttachments, item.hasAttachments)
        put(.isRead, item.isRead)
        let d = item.details
        put(.internetMessageID, d.internetMessageID)
        put(.conversationID, d.conversationID)
        put(.from, d.from)
        put(.to, d.to)
        put(.cc, d.cc)
        put(.categories, d.categories)
        put(.importance, d.importance)
        put(.flagStatus, d.flagStatus)
        put(.bodyPreview, body.map(BodyPreview.make))
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
    }

    /// Per-item hot path: format styles are value types, unlike a DateFormatter built per call.
    static func parseDate(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601))
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
    }
}

extension MirrorItem {
    /// True when only the read state differs from `before` (the mirror's row): what a server that
    /// reports reads as a plain Update (gromox) means by it.
    func differsOnlyInReadState(from before: MirrorItem) -> Bool {
        guard let isRead, let wasRead = before.isRead, isRead != wasRead else { return false }
        let sameTime: Bool
        switch (receivedAt, before.receivedAt) {
        case (nil, nil): sameTime = true
        case (let a?, let b?): sameTime = abs(a.timeIntervalSince(b)) < 1  // the mirror keeps microseconds
        default: sameTime = false
        }
        return sameTime && subject == before.subject && sender == before.sender && size == before.size
            && hasAttachments == before.hasAttachments && details == before.details
    }
}

extension EWSItem.Mailbox {
    /// How `changes.properties` names a mailbox: its address, or its name where a server gives none.
    var address: String? { emailAddress ?? name }
}

/// The plain-text preview of a body (`body_preview`): whitespace runs folded to one space, at most
/// `ItemField.bodyPreviewLimit` characters, cut on a character boundary.
enum BodyPreview {
    static func make(_ text: String) -> String {
        var out = ""
        var count = 0
        var pendingSpace = false
        for character in text {
            if character.isWhitespace {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                guard count + 1 < ItemField.bodyPreviewLimit else { break }
                out.append(" ")
                count += 1
                pendingSpace = false
            }
            out.append(character)
            count += 1
            if count == ItemField.bodyPreviewLimit { break }
        }
        return out
    }
}
