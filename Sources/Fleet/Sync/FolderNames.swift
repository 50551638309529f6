import EWS
import Store

/// Folder naming facts shared by the machine, the syncers and the EWS calls.
enum FolderNames {
    /// Distinguished folder names EWS accepts as DistinguishedFolderId (the rest are folder ids).
    static let distinguished: Set<String> = [
        "inbox", "sentitems", "deleteditems", "drafts", "outbox", "junkemail", "calendar", "contacts", "tasks",
        "notes", "journal", "msgfolderroot", "root", "archiveinbox", "archivemsgfolderroot", "searchfolders",
        "voicemail", "conversationhistory", "syncissues", "conflicts", "localfailures", "serverfailures",
    ]

    /// Mail folders an all-folders mailbox keeps under their distinguished name (as list mode and
    /// earlier versions do), so their folder key, mirror rows and SyncStates stay the same. Every
    /// other discovered folder is keyed by its EWS folder id. Also the sync order of those folders.
    static let mail = ["inbox", "sentitems", "drafts", "deleteditems", "junkemail", "outbox"]

    /// The one root every SyncFolderHierarchy uses (fact sheet §5.3: a null root and an explicit
    /// root are different sync states). msgfolderroot is the top of the user-visible folder tree.
    static let hierarchyRoot = "msgfolderroot"

    /// The display name (or id) a search folder key (`WatchMode.searchPrefix` and the name) names;
    /// nil for any other folder key. Its mirror and outbox rows carry the whole key as their folder.
    static func searchFolderName(_ key: String) -> String? {
        guard key.hasPrefix(WatchMode.searchPrefix) else { return nil }
        return String(key.dropFirst(WatchMode.searchPrefix.count))
    }

    /// Whether a folder from SyncFolderHierarchy holds mail: a plain `Folder` whose class is a note
    /// class (or unset, as for folders created by some clients). Search folders cannot be synced
    /// with SyncFolderItems; calendars, contacts, tasks and notes are not mail and were never
    /// watched by ewsfleet.
    static func isMail(_ folder: EWSFolder) -> Bool {
        guard folder.folderType == "Folder" else { return false }
        guard let folderClass = folder.folderClass, !folderClass.isEmpty else { return true }
        return folderClass == "IPF.Note" || folderClass.hasPrefix("IPF.Note.")
    }
}
