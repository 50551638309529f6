import Foundation

/// Search folders: defined by a restriction over base folders, their content follows the items.
/// They live under the `searchfolders` folder (a child of the root, outside msgfolderroot, so a
/// SyncFolderHierarchy of the mail tree never lists them). SyncFolderItems refuses them; FindItem
/// lists them; their items keep the ids of their real folders.
///
/// Notifications: a subscription that names a search folder hears an item entering it
/// (CreatedEvent), leaving it (DeletedEvent) and changing in it (ModifiedEvent), each with the
/// search folder as its parent. A SubscribeToAllFolders subscription does not (ews-sim's reading:
/// Exchange documents no search-folder events for it, and a client that watches every folder
/// would otherwise hear of a folder outside the hierarchy it syncs). In the gromox dialect the
/// search folder's own ModifiedEvent follows, as for any folder.
extension SimWorld {
    /// Creates a search folder in a mailbox: the items of `folders` (names or ids) that
    /// `restriction` matches; `unreadOnly` is the common case ("Unread Mail"). Returns its id.
    @discardableResult
    public func createSearchFolder(mailbox smtp: String, name: String, folders: [String] = ["inbox"],
                                   unreadOnly: Bool = true) throws(SimError) -> String {
        try locked { () throws(SimError) -> String in
            let mailbox = try requireMailbox(smtp)
            var base: Set<UInt32> = []
            for folder in folders { base.insert(try requireFolder(mailbox, folder).index) }
            let restriction: SimRestriction = unreadOnly ? .unread : .and([])
            return createSearchFolderLocked(mailbox, name: name, definition: SearchDefinition(baseFolders: base, restriction: restriction))
        }
    }

    func createSearchFolderLocked(_ mailbox: Mailbox, name: String, definition: SearchDefinition) -> String {
        let root: Folder
        if let existing = mailbox.folder(distinguished: "searchfolders") {
            root = existing
        } else {
            root = Folder(index: mailbox.nextFolderIndex(), distinguished: "searchfolders", displayName: "Finder", parentIndex: 0,
                          folderClass: "", createdSequence: mailbox.nextSequence())
            mailbox.folders.append(root)
        }
        let folder = Folder(index: mailbox.nextFolderIndex(), distinguished: nil, displayName: name, parentIndex: root.index,
                            folderClass: "IPF.Note", createdSequence: mailbox.nextSequence())
        folder.search = definition
        mailbox.folders.append(folder)
        return folderId(mailbox, folder)
    }

    /// The items a folder holds now: its own, or a search folder's results (lock held).
    func contents(_ mailbox: Mailbox, _ folder: Folder) -> [Item] {
        guard let search = folder.search else { return folder.itemKeys.compactMap { mailbox.items[$0] } }
        return search.baseFolders.flatMap { index in
            (mailbox.folders.first { $0.index == index }?.itemKeys ?? []).compactMap { mailbox.items[$0] }
        }.filter { search.restriction.matches(mailbox, $0) }
    }

    func isMember(_ item: Item, of search: SearchDefinition, _ mailbox: Mailbox) -> Bool {
        search.baseFolders.contains(item.folderIndex) && search.restriction.matches(mailbox, item)
    }

    /// The events of the mailbox's search folders for one item's change from `before` to `after`
    /// (nil: the item did not exist, or no longer does) (lock held).
    func searchEvents(_ mailbox: Mailbox, before: Item?, after: Item?, at now: Date) -> [SimEvent] {
        var events: [SimEvent] = []
        for folder in mailbox.folders {
            guard let search = folder.search else { continue }
            let was = before.map { isMember($0, of: search, mailbox) } ?? false
            let isIn = after.map { isMember($0, of: search, mailbox) } ?? false
            let parent = folderId(mailbox, folder)
            func event(_ kind: SimEvent.Kind, _ item: Item) -> SimEvent {
                SimEvent(kind: kind, time: now, isFolder: false, id: itemId(mailbox, item),
                         changeKey: kind == .deleted ? nil : SimIds.itemChangeKey(item.keySequence), parentFolderId: parent,
                         folderScope: [folder.index], namedOnly: true)
            }
            switch (was, isIn) {
            case (true, true):
                // A move between base folders changes the id: the old one leaves, the new one enters.
                if let before, let after, before.generation != after.generation {
                    events += [event(.deleted, before), event(.created, after)]
                } else if let after {
                    events.append(event(.modified, after))
                }
            case (false, true): events.append(event(.created, after!))
            case (true, false): events.append(event(.deleted, before!))
            case (false, false): break
            }
            if was || isIn {
                folder.changeSequence = mailbox.sequence
                // gromox's subscriptions to named folders hear their folders change, not the
                // items in them (see `Subscription.matches`), as for any folder.
                if isGromox(mailbox) {
                    var modified = folderModified(mailbox, folder, now)
                    modified.namedOnly = true
                    events.append(modified)
                }
            }
        }
        return events
    }

    /// Unread items of a search folder's results.
    func searchUnreadCount(_ mailbox: Mailbox, _ folder: Folder) -> Int {
        contents(mailbox, folder).filter { !$0.isRead }.count
    }

    /// Items of a folder; a search folder counts its results.
    func totalCount(_ mailbox: Mailbox, _ folder: Folder) -> Int {
        folder.search == nil ? folder.itemKeys.count : contents(mailbox, folder).count
    }
}
