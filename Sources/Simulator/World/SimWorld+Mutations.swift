import Foundation

/// User activity: every change bumps the mailbox sequence, records a ledger entry and publishes
/// the events Exchange would (including the folder-level noise).
extension SimWorld {
    /// New mail arrives in `folder` (a distinguished name, display name or folder id). Returns the new item ids.
    @discardableResult
    public func deliver(mailbox smtp: String, count: Int = 1, folder: String = "inbox") throws(SimError) -> [String] {
        guard (1...10_000).contains(count) else { throw SimError(.invalidArgument, "count must be 1...10000") }
        return try locked { () throws(SimError) -> [String] in
            let mailbox = try requireMailbox(smtp)
            let target = try requireFolder(mailbox, folder)
            guard target.search == nil else { throw SimError(.invalidArgument, "\(folder) is a search folder") }
            return (0..<count).map { _ in deliverLocked(mailbox, target) }
        }
    }

    func deliverLocked(_ mailbox: Mailbox, _ folder: Folder) -> String {
        let now = clock.date()
        let item = insertItem(mailbox, folder: folder, received: now, isRead: false)
        let id = itemId(mailbox, item)
        let changeKey = SimIds.itemChangeKey(item.keySequence)
        let parent = folderId(mailbox, folder)
        appendLedger(mailbox, LedgerRecord(sequence: item.changeSequence, time: now, kind: .created, item: item, isRead: false))
        let created = SimEvent(kind: .created, time: now, isFolder: false, id: id, changeKey: changeKey, parentFolderId: parent,
                               folderScope: [folder.index])
        let newMail = SimEvent(kind: .newMail, time: now, isFolder: false, id: id, changeKey: changeKey, parentFolderId: parent,
                               folderScope: [folder.index])
        // gromox reports the folder's new unread count between the two (captured from 3.10).
        publish(mailbox, (isGromox(mailbox)
            ? [created, folderModified(mailbox, folder, now), newMail]
            : [created, newMail, folderModified(mailbox, folder, now)]) + searchEvents(mailbox, before: nil, after: item, at: now))
        stats.delivered += 1
        return id
    }

    public func setRead(itemId id: String, _ isRead: Bool) throws(SimError) {
        try locked { () throws(SimError) in
            let (mailbox, item) = try requireItem(id)
            setReadLocked(mailbox, item, isRead)
        }
    }

    func setReadLocked(_ mailbox: Mailbox, _ original: Item, _ isRead: Bool) {
        var item = original
        let sequence = mailbox.nextSequence()
        let before = mailbox.folders.first { $0.index == item.folderIndex }.map { folderModified(mailbox, $0, clock.date()) }
        if item.isRead != isRead, let folder = mailbox.folders.first(where: { $0.index == item.folderIndex }) {
            folder.unread += isRead ? -1 : 1
        }
        item.isRead = isRead
        item.readSequence = sequence
        item.changeSequence = sequence
        if !configuration.keepChangeKeyOnReadChange { item.keySequence = sequence }
        mailbox.items[item.key] = item
        let now = clock.date()
        let id = itemId(mailbox, item)
        let folder = mailbox.folders.first { $0.index == item.folderIndex }!
        appendLedger(mailbox, LedgerRecord(sequence: sequence, time: now, kind: isRead ? .read : .unread, item: item, isRead: isRead))
        let modified = SimEvent(kind: .modified, time: now, isFolder: false, id: id, changeKey: SimIds.itemChangeKey(item.keySequence),
                                parentFolderId: folderId(mailbox, folder), folderScope: [folder.index])
        let after = folderModified(mailbox, folder, now)
        // gromox writes a read flag in three steps, each an item and a folder modification, and
        // the first folder event still carries the old unread count (captured from 3.10).
        publish(mailbox, (isGromox(mailbox) ? [modified, before ?? after, modified, after, modified, after] : [modified, after])
            + searchEvents(mailbox, before: original, after: item, at: now))
    }

    /// A content change (flag toggled, subject edited).
    public func updateItem(itemId id: String) throws(SimError) {
        try locked { () throws(SimError) in
            let (mailbox, item) = try requireItem(id)
            updateLocked(mailbox, item)
        }
    }

    func updateLocked(_ mailbox: Mailbox, _ original: Item) {
        var item = original
        let sequence = mailbox.nextSequence()
        item.isFlagged.toggle()
        item.contentSequence = sequence
        item.changeSequence = sequence
        item.keySequence = sequence
        mailbox.items[item.key] = item
        let now = clock.date()
        let id = itemId(mailbox, item)
        let folder = mailbox.folders.first { $0.index == item.folderIndex }!
        appendLedger(mailbox, LedgerRecord(sequence: sequence, time: now, kind: .updated, item: item, isRead: item.isRead))
        let modified = SimEvent(kind: .modified, time: now, isFolder: false, id: id, changeKey: SimIds.itemChangeKey(sequence),
                                parentFolderId: folderId(mailbox, folder), folderScope: [folder.index])
        // gromox follows every message change with the folder's ModifiedEvent (as it does for a
        // read flag), which is all a folder subscription hears; inferred, not captured.
        publish(mailbox, (isGromox(mailbox) ? [modified, folderModified(mailbox, folder, now)] : [modified])
            + searchEvents(mailbox, before: original, after: item, at: now))
    }

    /// Moves an item; its id changes. Returns the new id.
    @discardableResult
    public func moveItem(itemId id: String, toFolder folderName: String) throws(SimError) -> String {
        try locked { () throws(SimError) -> String in
            let (mailbox, item) = try requireItem(id)
            let target = try requireFolder(mailbox, folderName)
            guard target.search == nil else { throw SimError(.invalidArgument, "\(folderName) is a search folder") }
            guard target.index != item.folderIndex else { return id }
            return moveLocked(mailbox, item, target)
        }
    }

    func moveLocked(_ mailbox: Mailbox, _ original: Item, _ target: Folder) -> String {
        var item = original
        let source = mailbox.folders.first { $0.index == item.folderIndex }!
        let oldId = itemId(mailbox, item)
        let sequence = mailbox.nextSequence()
        addTombstone(source, Tombstone(itemId: oldId, createdSequence: item.createdSequence, deletedSequence: sequence))
        source.itemKeys.remove(item.key)
        if !item.isRead {
            source.unread -= 1
            target.unread += 1
        }
        item.generation += 1
        item.folderIndex = target.index
        item.createdSequence = sequence
        item.contentSequence = sequence
        item.readSequence = sequence
        item.changeSequence = sequence
        item.keySequence = sequence
        mailbox.items[item.key] = item
        target.itemKeys.insert(item.key)
        let now = clock.date()
        let newId = itemId(mailbox, item)
        appendLedger(mailbox, LedgerRecord(sequence: sequence, time: now, kind: .moved, item: item, isRead: item.isRead))
        publish(mailbox, [
            SimEvent(kind: .moved, time: now, isFolder: false, id: newId, changeKey: SimIds.itemChangeKey(sequence),
                     parentFolderId: folderId(mailbox, target), oldId: oldId,
                     oldParentFolderId: folderId(mailbox, source), folderScope: [target.index, source.index]),
            folderModified(mailbox, source, now),
            folderModified(mailbox, target, now),
        ] + searchEvents(mailbox, before: original, after: item, at: now))
        return newId
    }

    /// A user delete moves to Deleted Items; deleting from Deleted Items (or `hard`) removes the item.
    public func deleteItem(itemId id: String, hard: Bool = false) throws(SimError) {
        try locked { () throws(SimError) in
            let (mailbox, item) = try requireItem(id)
            deleteLocked(mailbox, item, hard: hard)
        }
    }

    func deleteLocked(_ mailbox: Mailbox, _ item: Item, hard: Bool) {
        let trash = mailbox.folder(distinguished: "deleteditems")!
        if !hard && item.folderIndex != trash.index {
            _ = moveLocked(mailbox, item, trash)
            return
        }
        let folder = mailbox.folders.first { $0.index == item.folderIndex }!
        let id = itemId(mailbox, item)
        let sequence = mailbox.nextSequence()
        addTombstone(folder, Tombstone(itemId: id, createdSequence: item.createdSequence, deletedSequence: sequence))
        folder.itemKeys.remove(item.key)
        if !item.isRead { folder.unread -= 1 }
        mailbox.items[item.key] = nil
        let now = clock.date()
        appendLedger(mailbox, LedgerRecord(sequence: sequence, time: now, kind: .deleted, item: item, isRead: nil))
        publish(mailbox, [
            SimEvent(kind: .deleted, time: now, isFolder: false, id: id, changeKey: nil,
                     parentFolderId: folderId(mailbox, folder), folderScope: [folder.index]),
            folderModified(mailbox, folder, now),
        ] + searchEvents(mailbox, before: item, after: nil, at: now))
    }

    /// Creates a user folder under msgfolderroot; returns its id.
    @discardableResult
    public func createFolder(mailbox smtp: String, name: String) throws(SimError) -> String {
        try locked { () throws(SimError) -> String in
            let mailbox = try requireMailbox(smtp)
            return createFolderLocked(mailbox, name: name)
        }
    }

    func createFolderLocked(_ mailbox: Mailbox, name: String) -> String {
        let parent = mailbox.folder(distinguished: "msgfolderroot")!
        let sequence = mailbox.nextSequence()
        let folder = Folder(index: mailbox.nextFolderIndex(), distinguished: nil, displayName: name,
                            parentIndex: parent.index, folderClass: "IPF.Note", createdSequence: sequence)
        mailbox.folders.append(folder)
        let now = clock.date()
        let id = folderId(mailbox, folder)
        appendLedger(mailbox, LedgerRecord(sequence: sequence, time: now, folderCreated: folder.index))
        publish(mailbox, [
            SimEvent(kind: .created, time: now, isFolder: true, id: id, changeKey: SimIds.folderChangeKey(sequence),
                     parentFolderId: folderId(mailbox, parent), folderScope: [parent.index, folder.index]),
            folderModified(mailbox, parent, now),
        ])
        return id
    }

    func folderModified(_ mailbox: Mailbox, _ folder: Folder, _ now: Date) -> SimEvent {
        let parentId = folder.parentIndex.flatMap { p in mailbox.folders.first { $0.index == p } }
            .map { folderId(mailbox, $0) } ?? folderId(mailbox, folder)
        return SimEvent(kind: .modified, time: now, isFolder: true, id: folderId(mailbox, folder),
                        changeKey: SimIds.folderChangeKey(folder.changeSequence), parentFolderId: parentId,
                        unreadCount: unreadCount(mailbox, folder), folderScope: [folder.index])
    }

    func isGromox(_ mailbox: Mailbox) -> Bool { tenants[mailbox.tenantIndex].dialect == .gromox }

    func addTombstone(_ folder: Folder, _ tombstone: Tombstone) {
        folder.tombstones.append(tombstone)
        if folder.tombstones.count > configuration.tombstoneLimit + configuration.tombstoneLimit / 4 {
            let drop = folder.tombstones.count - configuration.tombstoneLimit
            folder.prunedThrough = folder.tombstones[drop - 1].deletedSequence
            folder.tombstones.removeFirst(drop)
        }
    }

    // MARK: argument resolution (lock held)

    func requireMailbox(_ smtp: String) throws(SimError) -> Mailbox {
        guard let mailbox = mailbox(smtp: smtp) else { throw SimError(.unknownMailbox, "no mailbox \(smtp)") }
        return mailbox
    }

    func requireFolder(_ mailbox: Mailbox, _ name: String) throws(SimError) -> Folder {
        if let folder = mailbox.folders.first(where: { $0.distinguished == name || $0.displayName == name }) {
            return folder
        }
        if let (owner, folder) = resolveFolder(name), owner === mailbox { return folder }
        throw SimError(.unknownFolder, "no folder \(name) in \(mailbox.smtp)")
    }

    func requireItem(_ id: String) throws(SimError) -> (Mailbox, Item) {
        guard let found = resolveItem(id) else { throw SimError(.unknownItem, "no item \(id)") }
        return found
    }
}
