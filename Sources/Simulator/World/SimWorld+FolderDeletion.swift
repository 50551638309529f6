import Foundation

/// Hard-deleting a user folder, as a user emptying it out of Deleted Items does: the folder and its
/// items are gone, subscribers get the folder's DeletedEvent (no per-item events, as in Exchange),
/// and SyncFolderHierarchy reports a Delete. The ledger records each item as deleted.
extension SimWorld {
    public func deleteFolder(mailbox smtp: String, folder name: String) throws(SimError) {
        try locked { () throws(SimError) in
            let mailbox = try requireMailbox(smtp)
            let folder = try requireFolder(mailbox, name)
            guard folder.distinguished == nil else {
                throw SimError(.invalidArgument, "distinguished folder \(name) cannot be deleted")
            }
            guard !mailbox.folders.contains(where: { $0.parentIndex == folder.index }) else {
                throw SimError(.invalidArgument, "folder \(name) has subfolders")
            }
            deleteFolderLocked(mailbox, folder)
        }
    }

    func deleteFolderLocked(_ mailbox: Mailbox, _ folder: Folder) {
        let now = clock.date()
        for key in folder.itemKeys.sorted() {
            guard let item = mailbox.items[key] else { continue }
            mailbox.items[key] = nil
            appendLedger(mailbox, LedgerRecord(sequence: mailbox.nextSequence(), time: now, kind: .deleted, item: item,
                                               isRead: nil))
        }
        let sequence = mailbox.nextSequence()
        let id = folderId(mailbox, folder)
        mailbox.folderTombstones.append(FolderTombstone(
            index: folder.index, parentIndex: folder.parentIndex, displayName: folder.displayName,
            createdSequence: folder.createdSequence, deletedSequence: sequence))
        mailbox.folders.removeAll { $0.index == folder.index }
        guard let parent = folder.parentIndex.flatMap({ p in mailbox.folders.first { $0.index == p } }) else { return }
        publish(mailbox, [
            SimEvent(kind: .deleted, time: now, isFolder: true, id: id, changeKey: nil,
                     parentFolderId: folderId(mailbox, parent), folderScope: [parent.index, folder.index]),
            folderModified(mailbox, parent, now),
        ])
    }
}
