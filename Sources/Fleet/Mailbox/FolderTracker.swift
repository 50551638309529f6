import EWS

/// Which folders a mailbox syncs and how notification folder ids map to them; part of
/// `MailboxMachine`, pure and without I/O.
///
/// - List mode: the configured folders. Folder ids map to themselves; distinguished names need
///   their EWS id (persisted, or resolved with GetFolder), and so do search folders (`search:NAME`,
///   resolved with FindFolder). Until every watched folder's id is known
///   an unknown id could be one of ours, so it marks every folder dirty (safe); once all are known,
///   an unknown id is simply a folder we do not watch (the other end of a move or copy), and a
///   notification whose events name no watched folder at all is not ours: after a server restart
///   the id names somebody else's subscription. With one watched folder every event marks it
///   (a folder-scoped subscription only reports events that touch that folder); its id is still
///   resolved, for that check.
/// - All-folders mode: the folders the last hierarchy sync found. An unknown id means the hierarchy
///   changed since: refresh it. Ids still unknown after a refresh that started after they were seen
///   are ignored from then on (folders ewsfleet does not sync, learned lazily after a restart).
struct FolderTracker: Sendable, Equatable {
    /// What an activity asks for.
    struct Outcome: Equatable {
        var dirty: Set<String> = []
        var refreshHierarchy = false
        /// The events name none of the watched folders (list mode, ids known).
        var foreign = false
    }

    let discovers: Bool
    private(set) var folders: [String]
    private(set) var keysByID: [String: String] = [:]
    private(set) var ignoredIDs: Set<String> = []
    /// All-folders mode: a hierarchy sync has completed.
    private(set) var hierarchyKnown = false
    /// Unknown ids seen before the refresh now running (or next to run) started.
    private var unknownBefore: Set<String> = []
    /// Unknown ids seen while a refresh ran: it may have missed them, so they get another one.
    private var unknownDuring: Set<String> = []

    init(folders: [String], discovers: Bool, knownIDs: [String: String]) {
        self.discovers = discovers
        self.folders = discovers ? [] : folders
        guard !discovers else { return }
        let watched = Set(folders)
        for (id, key) in knownIDs where watched.contains(key) { keysByID[id] = key }
        // A folder id names itself; a distinguished name or a search folder's name needs its id.
        for folder in folders where !FolderNames.distinguished.contains(folder) && FolderNames.searchFolderName(folder) == nil {
            keysByID[folder] = folder
        }
    }

    /// List mode: every watched folder's EWS id is known.
    var idsComplete: Bool {
        discovers ? hierarchyKnown : Set(keysByID.values).isSuperset(of: folders)
    }

    /// List mode with one folder: every event is about it.
    private var single: Bool { !discovers && folders.count == 1 }

    /// List mode: distinguished and search folders whose id is still unknown.
    var unresolved: [String] {
        guard !discovers else { return [] }
        let known = Set(keysByID.values)
        return folders.filter { !known.contains($0) }
    }

    /// Maps a notification's folder ids to folders. `refreshing`: a hierarchy sync is in flight.
    mutating func map(_ activity: FolderActivity, refreshing: Bool) -> Outcome {
        var outcome = Outcome(refreshHierarchy: discovers && activity.hierarchyChanged)
        if !discovers, idsComplete, !activity.namedFolderIDs.isEmpty,
           !activity.namedFolderIDs.contains(where: { keysByID[$0] != nil }) {
            outcome.foreign = true
            return outcome
        }
        if single {
            if !activity.folderIDs.isEmpty || !activity.modifiedFolderIDs.isEmpty { outcome.dirty = Set(folders) }
            return outcome
        }
        for id in activity.folderIDs {
            if let key = keysByID[id] {
                outcome.dirty.insert(key)
            } else if ignoredIDs.contains(id) {
                continue
            } else if discovers {
                outcome.refreshHierarchy = true
                if refreshing { unknownDuring.insert(id) } else { unknownBefore.insert(id) }
            } else if !idsComplete {
                // Could be a watched folder whose id we have not learned yet.
                outcome.dirty.formUnion(folders)
            }
        }
        // A folder-level Modified of a folder we sync; of any other folder it is noise.
        for id in activity.modifiedFolderIDs {
            if let key = keysByID[id] { outcome.dirty.insert(key) }
        }
        return outcome
    }

    /// The watched folder an EWS folder id names, if any.
    func key(forID id: String) -> String? { keysByID[id] }

    /// List mode: ids resolved for distinguished folders (EWS id → folder key).
    mutating func resolved(_ ids: [String: String]) {
        let watched = Set(folders)
        for (id, key) in ids where watched.contains(key) { keysByID[id] = key }
    }

    /// All-folders mode: a hierarchy sync finished. Returns the folders that are new (to sync from
    /// their stored state, or from scratch) and whether another refresh is needed.
    mutating func apply(_ directory: FolderDirectory) -> (added: [String], removed: Set<String>, refreshAgain: Bool) {
        let old = Set(folders)
        folders = directory.folders
        keysByID = directory.keysByID
        ignoredIDs.formUnion(directory.ignoredIDs)
        ignoredIDs.subtract(directory.keysByID.keys)
        hierarchyKnown = true
        // Seen before this refresh started and still unknown: not a folder we sync.
        ignoredIDs.formUnion(unknownBefore.filter { keysByID[$0] == nil })
        unknownBefore = unknownDuring.filter { keysByID[$0] == nil && !ignoredIDs.contains($0) }
        unknownDuring = []
        let added = folders.filter { !old.contains($0) }
        return (added, old.subtracting(folders), !unknownBefore.isEmpty)
    }

    /// A folder vanished (ErrorSyncFolderNotFound): stop syncing it.
    mutating func remove(_ folder: String) {
        folders.removeAll { $0 == folder }
        keysByID = keysByID.filter { $0.value != folder }
    }
}
