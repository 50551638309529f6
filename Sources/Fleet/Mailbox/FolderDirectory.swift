/// The folders of an all-folders mailbox after a hierarchy sync: which to sync, and how the EWS
/// folder ids that notifications carry map to them.
struct FolderDirectory: Sendable, Equatable {
    /// Folder keys to sync, in sync order: a distinguished name (`inbox`) or an EWS folder id.
    var folders: [String]
    /// EWS folder id → folder key, for every folder in `folders`.
    var keysByID: [String: String]
    /// Folders the hierarchy holds but ewsfleet does not sync (search folders, calendars, contacts,
    /// tasks, the root): events in them are neither "ours" nor a sign of an unknown folder.
    var ignoredIDs: Set<String> = []
}
