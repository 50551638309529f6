import EWS
import Foundation
import Store

/// The folder discovery of an all-folders mailbox: SyncFolderHierarchy below msgfolderroot (always
/// that root: fact sheet §5.3) from the SyncState kept in PostgreSQL, then ONE transaction that
/// records discovered mail folders, drops vanished ones (their items leave the mirror with a
/// `deleted` change row each) and stores the new state. Returns the folder directory the mailbox
/// machine syncs from.
///
/// Folder keys: the well-known mail folders keep their distinguished name (so their mirror rows and
/// SyncStates are those list mode and earlier versions wrote); every other folder is keyed by its
/// EWS folder id. The distinguished names' ids come from one GetFolder on a from-scratch sync.
struct HierarchySyncer: Sendable {
    let service: any HierarchyService
    let store: any HierarchyStore
    var now: @Sendable () -> Date = { Date() }

    func refresh(_ target: FolderSyncer.Target) async throws -> FolderDirectory {
        let stored = try await store.hierarchy(mailboxID: target.mailboxID)
        do {
            return try await sync(target, stored: stored, fromScratch: stored.syncState == nil)
        } catch let error as EWSCallError where error.decision.action == .fullResync && stored.syncState != nil {
            // ErrorInvalidSyncStateData: start over; the full listing is diffed against what we know.
            return try await sync(target, stored: stored, fromScratch: true)
        }
    }

    private func sync(_ target: FolderSyncer.Target, stored: FolderRepository.Hierarchy, fromScratch: Bool)
        async throws -> FolderDirectory
    {
        // The folders as we know them, by EWS id; a from-scratch listing rebuilds them entirely.
        var known: [String: FolderRepository.Folder] = [:]
        var distinguishedKeys: [String: String] = [:]  // EWS id → distinguished name
        for folder in stored.folders {
            guard let id = folder.ewsID else { continue }
            if !fromScratch { known[id] = folder }
            if FolderNames.distinguished.contains(folder.key) { distinguishedKeys[id] = folder.key }
        }
        if fromScratch {
            let missing = FolderNames.mail.filter { !distinguishedKeys.values.contains($0) }
            for (name, id) in try await service.folderIDs(mailbox: target.mailbox, distinguished: missing) {
                distinguishedKeys[id] = name
            }
        }
        var ignored: Set<String> = []
        var deleted: Set<String> = []
        var state = fromScratch ? nil : stored.syncState
        var observed = now()
        while true {
            let page = try await service.syncFolderHierarchy(mailbox: target.mailbox, syncState: state)
            observed = now()
            guard page.status.isSuccess else { throw EWSCallError(status: page.status) }
            for change in page.changes {
                let id = change.folder.folderID.id
                switch change.kind {
                case .create, .update:
                    guard FolderNames.isMail(change.folder) else {
                        ignored.insert(id)
                        continue
                    }
                    let name = change.folder.displayName ?? known[id]?.displayName
                    known[id] = FolderRepository.Folder(key: distinguishedKeys[id] ?? id, ewsID: id, displayName: name)
                    deleted.remove(id)
                case .delete:
                    known[id] = nil
                    deleted.insert(id)
                }
            }
            state = page.syncState ?? state
            // Taken as the last, a page that does not say so would drop every folder of a
            // from-scratch listing not yet reported.
            guard let last = page.includesLastFolderInRange else {
                throw EWSCallError.malformed("SyncFolderHierarchy page without IncludesLastFolderInRange")
            }
            if last { break }
        }
        let keys = Set(known.values.map(\.key))
        // Gone: folders the server deleted, and after a from-scratch listing every folder we had
        // (a row or mirrored items) that it no longer reports.
        var drops = Set(stored.folders.filter { folder in
            folder.ewsID.map { deleted.contains($0) } ?? false
        }.map(\.key))
        if fromScratch {
            drops.formUnion(Set(stored.folders.map(\.key)).union(stored.mirroredFolders).subtracting(keys))
        }
        var checkpoint = FolderRepository.HierarchyCheckpoint(
            lease: target.lease, tenant: target.tenant, mailboxID: target.mailboxID, mailbox: target.mailbox,
            syncState: state ?? "", observedAt: observed)
        let before = Dictionary(stored.folders.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        checkpoint.upserts = known.values.filter { before[$0.key] != $0 }.sorted { $0.key < $1.key }
        checkpoint.drops = drops.sorted()
        _ = try await store.commit(checkpoint)
        return Self.directory(known.values, ignored: ignored)
    }

    /// Sync order: the well-known mail folders first, then the rest by name (then id).
    static func directory(_ folders: some Sequence<FolderRepository.Folder>, ignored: Set<String>) -> FolderDirectory {
        let rank = Dictionary(uniqueKeysWithValues: FolderNames.mail.enumerated().map { ($1, $0) })
        let sorted = folders.sorted {
            let (a, b) = (rank[$0.key] ?? Int.max, rank[$1.key] ?? Int.max)
            if a != b { return a < b }
            return ($0.displayName ?? "", $0.key) < ($1.displayName ?? "", $1.key)
        }
        var keysByID: [String: String] = [:]
        for folder in sorted { if let id = folder.ewsID { keysByID[id] = folder.key } }
        return FolderDirectory(folders: sorted.map(\.key), keysByID: keysByID, ignoredIDs: ignored)
    }
}
