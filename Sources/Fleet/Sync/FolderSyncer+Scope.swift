import EWS
import Foundation
import Store

/// Syncs from scratch of a folder with a filtered scope (`--filter`), the guidance's pattern: sync
/// keeps the state current IdOnly, FindItem with a restriction lists the scope, only items inside
/// it reach the mirror and the outbox.
extension FolderSyncer {
    /// SyncFolderItems pages (IdOnly, nothing fetched) bring the SyncState to now; then FindItem,
    /// restricted to a superset of the filter, lists the scope, judged here item by item; what is new
    /// or changed against the mirror is fetched with GetItem (10 per call) and recorded, and mirror
    /// items outside the scope leave with a `deleted` row. So a filter set on a watched folder, or
    /// changed, records what enters and what leaves the scope. The SyncState and the scope are
    /// committed with the last chunk: a crash before it starts all this again, and the diff against
    /// the mirror makes that harmless. Anything that changes after the SyncState was taken is
    /// reported again by the next incremental sync and judged then.
    func syncScoped(_ target: Target, folder: String) async throws -> Summary {
        guard let filter = target.filter else { preconditionFailure("syncScoped without a filter") }
        let ignoredList = try await store.ignored(mailboxID: target.mailboxID)
        var state: String?
        while true {
            let page = try await service.syncFolderItems(mailbox: target.mailbox, folder: folder, syncState: state,
                                                         maxChanges: pageSize, readState: false, ignore: ignoredList)
            guard page.status.isSuccess else { throw EWSCallError(status: page.status) }
            guard let last = page.includesLastItemInRange else { throw EWSCallError.malformed("SyncFolderItems page without IncludesLastItemInRange") }
            state = page.syncState
            if last { break }
        }
        let scoped = try await listScope(target, folder: folder, filter: filter)
        return try await commitListing(scoped, target, folder: folder, ignored: ignoredList, step: SyncStep.fresh("scope")) {
            $0.syncState = state ?? ""
            $0.filterScope = filter.description
        }
    }

    /// Makes the mirror of `folder` what `listed` (the folder's whole content now, as FindItem
    /// listed it) says: what is new or changed against the mirror (by ChangeKey, or by read state
    /// where a server keeps the ChangeKey on a read) is fetched with GetItem (10 per call) and
    /// recorded, and mirror items not listed leave with a `deleted` row. Items on the ignore list
    /// are neither recorded nor taken for deleted (a server may list them). Committed in chunks of
    /// `pageSize` items, each its own checkpoint; `finish` completes the last one. A baseline
    /// (`--start now`, nothing mirrored) mirrors what FindItem carried, with no GetItem and no row.
    func commitListing(_ listed: [EWSItem], _ target: Target, folder: String, ignored ignoredList: [String], step: String,
                       finish: (inout Checkpoint) -> Void) async throws -> Summary {
        let ignored = Set(ignoredList)
        let mirror = try await store.mirror(mailboxID: target.mailboxID, folder: folder)
        var baseline = false
        if target.startsNow {
            baseline = mirror.isEmpty
            if !baseline { baseline = try await store.baselining(mailboxID: target.mailboxID, folder: folder) }
        }
        var pass = Pass(scratch: true, baseline: baseline, mirror: mirror, ignored: ignoredList)
        pass.filter = target.filter
        let listed = listed.filter { !ignored.contains($0.itemID.id) }
        let present = Set(listed.map(\.itemID.id))
        // Unchanged items (same ChangeKey and read state as mirrored) need nothing.
        let changed = listed.filter { item in
            guard let known = mirror[item.itemID.id], let key = item.itemID.changeKey, !key.isEmpty else { return true }
            return known.changeKey != key || (item.isRead != nil && known.isRead != nil && item.isRead != known.isRead)
        }
        let gone = mirror.keys.filter { !present.contains($0) && !ignored.contains($0) }.sorted()
        return try await commitInChunks(changed, gone: gone, target, folder: folder, step: step, baseline: baseline, fill: { chunk, cp in
            if baseline {
                // FindItem carried the summary and IsRead: mirrored as listed, no GetItem, no row.
                let fields = fetchFields(filtered: pass.filter != nil)
                for item in chunk { record(item, fields: fields, into: &cp, known: false, before: nil, pass: &pass) }
                return 0
            }
            let known = chunk.map(\.itemID.id).filter { mirror[$0] != nil }
            let before = known.isEmpty
                ? [:] : try await store.mirrorItems(mailboxID: target.mailboxID, folder: folder, itemIDs: known)
            return try await fetch(chunk.map { (id: $0.itemID, known: mirror[$0.itemID.id] != nil) },
                                   before: before, into: &cp, pass: &pass, target: target)
        }, finish: finish)
    }

    /// Commits a listing's outcome in chunks of `pageSize` changed items, each chunk one
    /// checkpoint that `fill` completes (returning the items it fetched); the last one also takes
    /// the `deleted` rows of `gone`, completes the full sync and gets `finish`. Until the last
    /// chunk a baseline is marked as still running.
    func commitInChunks<Entry>(_ changed: [Entry], gone: [String], _ target: Target, folder: String, step: String, baseline: Bool,
                               fill: ([Entry], inout Checkpoint) async throws -> Int,
                               finish: (inout Checkpoint) -> Void) async throws -> Summary {
        var summary = Summary()
        var start = 0
        repeat {
            let chunk = Array(changed[start..<min(start + pageSize, changed.count)])
            start += pageSize
            let last = start >= changed.count
            var cp = Checkpoint(lease: target.lease, tenant: target.tenant, mailboxID: target.mailboxID, mailbox: target.mailbox,
                                folderID: folder, syncState: "", syncStep: step, observedAt: now())
            summary.itemsFetched += try await fill(chunk, &cp)
            if last {
                for id in gone {
                    cp.deletes.append(id)
                    cp.changes.append(ChangeRecord(folderID: folder, itemID: id, changeKey: "", kind: .deleted))
                }
                cp.completesFullSync = true
                finish(&cp)
            }
            cp.baselining = baseline && !last
            let inserted = try await store.commit(cp)
            FleetMetrics.syncPageCommitted(changes: inserted)
            summary.changesInserted += inserted
            summary.pages += 1
        } while start < changed.count
        return summary
    }

    /// The items in the filter's scope now, oldest first: FindItem pages under the restriction
    /// (a superset), each item judged by the filter.
    func listScope(_ target: Target, folder: String, filter: MailboxFilter) async throws -> [EWSItem] {
        try await list(target, folder: folder, filter: filter, restriction: FilterScope.restriction(filter), order: .receivedAscending)
    }

    /// A folder's whole content now, paged with FindItem in `order` (and judged by `filter`, if
    /// any). Paging is not a snapshot; what moves under the pages is detected, and the folder is
    /// listed again, at most three times, and then the sync fails and is retried later, paced like
    /// any failed sync:
    /// - A view that shrinks between two pages moved under them in every order: an item deleted,
    ///   or leaving the view, ahead of the offset shifts the rest back, and one would be skipped.
    /// - Oldest received first, a view that grows needs nothing: new mail sorts last, and an item
    ///   entering the view ahead of the offset only shifts one already read into the next page,
    ///   where it is found again and counted once.
    /// - Last modified first (a search folder), an item that changes moves to the front and
    ///   shifts the rest forward: it would be skipped if it had not been read yet, and the shift
    ///   shows as an item listed twice. So an item listed twice lists the folder again. (With no
    ///   shrink and no item twice, as many items left ahead of the offset as arrived or moved
    ///   there, which skips none.)
    func list(_ target: Target, folder: String, filter: MailboxFilter?, restriction: EWSRestriction?,
              order: FindItemRequest.Order) async throws -> [EWSItem] {
        let size = min(findPageSize, restriction == nil ? FindItemRequest.pageLimit : FindItemRequest.restrictedPageLimit)
        let fields = fetchFields(filtered: filter != nil)
        for _ in 0..<3 {
            var offset = 0
            var total: Int?
            var found: [String: EWSItem] = [:]
            var listed: [String] = []
            var seen: Set<String> = []
            var moved = false
            listing: while true {
                let page = try await service.findItems(mailbox: target.mailbox, folder: folder, fields: fields,
                                                       restriction: restriction, order: order, offset: offset, maxEntries: size)
                guard page.status.isSuccess else { throw EWSCallError(status: page.status) }
                guard let last = page.includesLastItemInRange else { throw EWSCallError.malformed("FindItem page without IncludesLastItemInRange") }
                if let count = page.totalItemsInView {
                    if let total, count < total { moved = true; break }
                    total = count
                }
                for item in page.items {
                    if !seen.insert(item.itemID.id).inserted, order == .modifiedDescending { moved = true; break listing }
                    guard filter?.matches(FilterScope.subject(of: item)) ?? true else { continue }
                    if found.updateValue(item, forKey: item.itemID.id) == nil { listed.append(item.itemID.id) }
                }
                if last { break }
                let next = page.indexedPagingOffset ?? offset + page.items.count
                guard next > offset else { throw EWSCallError.malformed("FindItem paging that does not advance") }
                offset = next
            }
            if !moved { return listed.compactMap { found[$0] } }
        }
        throw EWSCallError.malformed("FindItem: the folder changed under three listings")
    }
}
