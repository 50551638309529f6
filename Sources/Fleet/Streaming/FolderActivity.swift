import EWS

/// What one notification says about folders, reduced from its events: the EWS ids of the folders
/// whose items changed, and whether the folder tree itself changed. Mapping ids to the mailbox's
/// folders is the mailbox machine's job (it knows which ids it watches).
struct FolderActivity: Sendable, Equatable {
    /// ParentFolderId of item events, plus OldParentFolderId of item moves and copies.
    var folderIDs: Set<String> = []
    /// Folders whose folder-level ModifiedEvent arrived. On a subscription to one folder, gromox
    /// reports reads, moves out and deletes only this way (for Exchange it is the unread-count
    /// echo of item events, which name the folder themselves): a watched folder listed here is
    /// synced.
    var modifiedFolderIDs: Set<String> = []
    /// Every folder id any event named (parents, old parents, folders): a subscription to
    /// specific folders whose events name none of them is not ours.
    var namedFolderIDs: Set<String> = []
    /// A folder was created, deleted, moved or copied.
    var hierarchyChanged = false
    /// Items that left a folder: a DeletedEvent's item, a MovedEvent's old item (a moved item gets
    /// a new id, so its old id is gone from its old folder), in event order.
    var departures: [Departure] = []

    struct Departure: Sendable, Equatable {
        var itemID: String
        var folderID: String
    }

    init(folderIDs: Set<String> = [], modifiedFolderIDs: Set<String> = [], namedFolderIDs: Set<String>? = nil,
         hierarchyChanged: Bool = false) {
        self.folderIDs = folderIDs
        self.modifiedFolderIDs = modifiedFolderIDs
        self.namedFolderIDs = namedFolderIDs ?? folderIDs.union(modifiedFolderIDs)
        self.hierarchyChanged = hierarchyChanged
    }

    init(events: [StreamingEvent]) {
        for event in events {
            switch event.kind {
            // No folder content to sync: status keep-alives, and free/busy (calendar only).
            case .status, .freeBusyChanged:
                continue
            default:
                break
            }
            for id in [event.parentFolderID, event.oldParentFolderID, event.folderID, event.oldFolderID] {
                if let id = id?.id { namedFolderIDs.insert(id) }
            }
            if let folder = event.folderID?.id ?? event.oldFolderID?.id {
                // A folder-level event: Modified is about the folder's content (or a rename);
                // anything else changes the tree.
                if event.kind == .modified { modifiedFolderIDs.insert(folder) } else { hierarchyChanged = true }
                continue
            }
            if let parent = event.parentFolderID?.id { folderIDs.insert(parent) }
            if let old = event.oldParentFolderID?.id { folderIDs.insert(old) }
            switch event.kind {
            case .deleted:
                if let item = event.itemID?.id, let folder = event.parentFolderID?.id {
                    departures.append(Departure(itemID: item, folderID: folder))
                }
            case .moved:
                if let item = event.oldItemID?.id, let folder = event.oldParentFolderID?.id {
                    departures.append(Departure(itemID: item, folderID: folder))
                }
            default:
                break
            }
        }
    }
}
