import EWS

/// What one notification says about folders, reduced from its events: the EWS ids of the folders
/// whose items changed, and whether the folder tree itself changed. Mapping ids to the mailbox's
/// folders is the mailbox machine's job (it knows which ids it watches).
struct FolderActivity: Sendable, Equatable {
    /// ParentFolderId of item events, plus OldParentFolderId of item moves and copies.
    var folderIDs: Set<String> = []
    /// A folder was created, deleted, moved or copied.
    var hierarchyChanged = false

    init(folderIDs: Set<String> = [], hierarchyChanged: Bool = false) {
        self.folderIDs = folderIDs
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
            if event.folderID != nil || event.oldFolderID != nil {
                // A folder-level Modified event is the unread-count noise of item events (which
                // name the folder themselves) or a rename: neither changes what we sync.
                if event.kind != .modified { hierarchyChanged = true }
                continue
            }
            if let parent = event.parentFolderID?.id { folderIDs.insert(parent) }
            if let old = event.oldParentFolderID?.id { folderIDs.insert(old) }
        }
    }
}
