import EWS
import Foundation
import Store

/// Search folders (`--folder search:NAME`), the guidance's pattern: SyncFolderItems refuses them,
/// so notifications (and the safety sync, and the timer of sync-only mode) say when, and a listing
/// says what.
extension FolderSyncer {
    /// FindItem lists the search folder (IdOnly plus the summary, last modified first, 1000 a page,
    /// paged until IncludesLastItemInRange; see `list` for what moves under the pages), and the
    /// listing is diffed against the folder's own mirror rows by id, ChangeKey and read state:
    /// what is new or changed is fetched with GetItem (10 per call) and recorded, and what the
    /// folder no longer lists leaves with a `deleted` row. Items keep the ids of their real
    /// folders, so an item can have mirror and outbox rows both under its real folder and under the
    /// search folder's key. There is no SyncState: every sync is a listing, and the diff against
    /// the mirror (committed with the rows) is what keeps a repeated one from recording twice.
    func syncSearch(_ target: Target, folder: String) async throws -> Summary {
        let ignored = try await store.ignored(mailboxID: target.mailboxID)
        let listed = try await list(target, folder: folder, filter: target.filter, restriction: nil, order: .modifiedDescending)
        return try await commitListing(listed, target, folder: folder, ignored: ignored, step: SyncStep.fresh("search")) {
            $0.filterScope = target.filter?.description ?? ""
        }
    }
}
