/// Net-change computation for SyncFolderItems / SyncFolderHierarchy (lock held by callers).
extension SimWorld {
    struct ItemSyncResult {
        var changes: [ItemChange]
        var syncState: String
        var includesLastItemInRange: Bool
    }

    enum SyncFailure: Error { case invalidSyncState }

    /// Changes in `folder` since `state` (nil = initial sync), at most `maxChanges` per page.
    ///
    /// Classification is relative to `base` (what the client had when this round of paging began);
    /// only changes past `watermark` (what earlier pages already returned) are listed. A Create
    /// carries the newest change key, so create+modify coalesce; create+delete in the window vanish.
    func syncItems(_ mailbox: Mailbox, _ folder: Folder, state: String?, maxChanges: Int,
                   ignore: Set<String>) throws(SyncFailure) -> ItemSyncResult {
        var base: UInt64 = 0
        var watermark: UInt64 = 0
        if let state, !state.isEmpty {
            guard let decoded = SyncState.decode(state, key: syncStateKey), decoded.kind == .items,
                  decoded.tenant == mailbox.tenantIndex, decoded.mailbox == mailbox.index,
                  decoded.folder == folder.index, decoded.base <= decoded.watermark,
                  decoded.watermark <= mailbox.sequence, folder.prunedThrough <= decoded.watermark
            else { throw .invalidSyncState }
            base = decoded.base
            watermark = decoded.watermark
        } else if folder.prunedThrough > 0 {
            // An initial sync never needs tombstones, so pruning does not matter here.
            watermark = 0
        }
        var changes: [ItemChange] = []
        for key in folder.itemKeys {
            guard let item = mailbox.items[key], item.changeSequence > watermark else { continue }
            let id = itemId(mailbox, item)
            if ignore.contains(id) { continue }
            let kind: ItemChange.Kind
            if item.createdSequence > base {
                kind = .create
            } else if item.contentSequence > base {
                kind = .update
            } else {
                kind = .readFlag
            }
            changes.append(ItemChange(kind: kind, itemId: id, changeKey: SimIds.itemChangeKey(item.keySequence),
                                      isRead: item.isRead, item: item, sortKey: item.changeSequence))
            // The initial round (base 0, over all its pages) of a gromox folder. Right after its
            // Create (same sort key, so a page never separates them).
            if base == 0, item.readSequence > item.createdSequence, isGromox(mailbox) {
                changes.append(ItemChange(kind: .initialReadState, itemId: id, changeKey: nil, isRead: item.isRead,
                                          item: item, sortKey: item.changeSequence))
            }
        }
        if state != nil {
            // Items created after `watermark` and gone again were never seen: report nothing.
            for tombstone in folder.tombstones where tombstone.deletedSequence > watermark
                && tombstone.createdSequence <= watermark && !ignore.contains(tombstone.itemId) {
                changes.append(ItemChange(kind: .delete, itemId: tombstone.itemId, changeKey: nil, isRead: false,
                                          item: nil, sortKey: tombstone.deletedSequence))
            }
        }
        changes.sort { ($0.sortKey, $0.kind == .initialReadState ? 1 : 0) < ($1.sortKey, $1.kind == .initialReadState ? 1 : 0) }
        // A page ends after a whole sort key: an item's initial read state stays with its Create.
        var limit = max(1, maxChanges)
        while limit < changes.count, changes[limit].sortKey == changes[limit - 1].sortKey { limit += 1 }
        if changes.count > limit {
            let page = Array(changes.prefix(limit))
            let next = SyncState(kind: .items, tenant: mailbox.tenantIndex, mailbox: mailbox.index, folder: folder.index,
                                 base: base, watermark: page.last!.sortKey)
            return ItemSyncResult(changes: page, syncState: next.encode(key: syncStateKey), includesLastItemInRange: false)
        }
        let next = SyncState(kind: .items, tenant: mailbox.tenantIndex, mailbox: mailbox.index, folder: folder.index,
                             base: mailbox.sequence, watermark: mailbox.sequence)
        return ItemSyncResult(changes: changes, syncState: next.encode(key: syncStateKey), includesLastItemInRange: true)
    }

    /// Folder creations/updates below `root` (msgfolderroot when nil) since `state`.
    func syncHierarchy(_ mailbox: Mailbox, root: Folder?, state: String?) throws(SyncFailure)
        -> (changes: [FolderChange], syncState: String) {
        let scopeRoot = root ?? mailbox.folder(distinguished: "msgfolderroot")!
        // A null root and an explicit root are different sync states, as in Exchange.
        let stateFolder: UInt32 = root == nil ? UInt32.max : scopeRoot.index
        var base: UInt64 = 0
        if let state, !state.isEmpty {
            guard let decoded = SyncState.decode(state, key: syncStateKey), decoded.kind == .hierarchy,
                  decoded.tenant == mailbox.tenantIndex, decoded.mailbox == mailbox.index,
                  decoded.folder == stateFolder, decoded.base <= mailbox.sequence
            else { throw .invalidSyncState }
            base = decoded.base
        }
        var changes: [FolderChange] = []
        for folder in mailbox.folders where isDescendant(mailbox, folder, of: scopeRoot) {
            if folder.createdSequence > base {
                changes.append(FolderChange(kind: .create, folder: folder))
            } else if folder.changeSequence > base {
                changes.append(FolderChange(kind: .update, folder: folder))
            }
        }
        if state != nil {
            // Deleted since `base` and known to the client then (created at or before it).
            for tombstone in mailbox.folderTombstones where tombstone.deletedSequence > base
                && tombstone.createdSequence <= base && isBelow(mailbox, tombstone.parentIndex, scopeRoot) {
                changes.append(FolderChange(kind: .delete, folder: nil,
                                            deletedId: SimIds.folderId(tenant: mailbox.tenantIndex, mailbox: mailbox.index,
                                                                       folder: tombstone.index)))
            }
        }
        let next = SyncState(kind: .hierarchy, tenant: mailbox.tenantIndex, mailbox: mailbox.index, folder: stateFolder,
                             base: mailbox.sequence, watermark: mailbox.sequence)
        return (changes, next.encode(key: syncStateKey))
    }

    /// Whether a folder whose parent is `parent` lies below `root`.
    func isBelow(_ mailbox: Mailbox, _ parent: UInt32?, _ root: Folder) -> Bool {
        guard let parent else { return false }
        if parent == root.index { return true }
        guard let folder = mailbox.folders.first(where: { $0.index == parent }) else { return false }
        return isDescendant(mailbox, folder, of: root)
    }

    func isDescendant(_ mailbox: Mailbox, _ folder: Folder, of root: Folder) -> Bool {
        var current = folder.parentIndex
        while let index = current {
            if index == root.index { return true }
            current = mailbox.folders.first { $0.index == index }?.parentIndex
        }
        return false
    }
}
