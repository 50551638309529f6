import EWS
import Synchronization

/// Search folders named by display name (`--folder search:"Unread Mail"`) resolve to their EWS
/// folder ids: FindFolder under `searchfolders` (where Outlook and Exchange keep them), paged (a
/// server that knows no `searchfolders`, as gromox 3.10, is searched under its root and the root's
/// "Finder"); a name no search folder there has is tried as a folder id (GetFolder), which must be
/// a SearchFolder.
/// Resolved ids are remembered per mailbox; a subscribe resolves again, and a listing that finds
/// the folder gone forgets the id, so a folder deleted and created again under the same name is
/// found again.
final class SearchFolderIDs: Sendable {
    private let ids = Mutex<[String: String]>([:])

    private static func key(_ mailbox: String, _ name: String) -> String { mailbox + "\u{0}" + name }

    func id(mailbox: String, name: String) -> String? { ids.withLock { $0[Self.key(mailbox, name)] } }

    func remember(mailbox: String, name: String, id: String) { ids.withLock { $0[Self.key(mailbox, name)] = id } }

    func forget(mailbox: String, name: String) { _ = ids.withLock { $0.removeValue(forKey: Self.key(mailbox, name)) } }
}

extension TenantEWS {
    /// A folder's children (FindFolder, shallow, paged until IncludesLastItemInRange).
    func childFolders(of parent: EWSFolderID, mailbox: String) async throws -> [EWSFolder] {
        var folders: [EWSFolder] = []
        var offset = 0
        while true {
            let request = try FindFolderRequest(parent: parent, maxEntries: Self.folderPageSize, offset: offset)
            guard case .findFolder(let messages) = try await client.call(request, route: routeFor(mailbox)),
                  let page = messages.first
            else { throw EWSCallError.malformed("FindFolder") }
            guard page.status.isSuccess else { throw EWSCallError(status: page.status) }
            folders += page.folders
            guard let last = page.includesLastItemInRange else {
                throw EWSCallError.malformed("FindFolder page without IncludesLastItemInRange")
            }
            if last || page.folders.isEmpty { return folders }
            let next = page.indexedPagingOffset ?? offset + page.folders.count
            guard next > offset else { throw EWSCallError.malformed("FindFolder paging that does not advance") }
            offset = next
        }
    }

    /// Folders listed per FindFolder page (EWSFindCountLimit).
    static var folderPageSize: Int { FindItemRequest.pageLimit }

    /// A folder key as EWS names it, search folders resolved (`fresh`: ask the server again).
    func resolvedFolderID(_ key: String, mailbox: String, fresh: Bool = false) async throws -> EWSFolderID {
        guard let name = FolderNames.searchFolderName(key) else { return folderID(key, mailbox: mailbox) }
        if !fresh, let id = searchFolders.id(mailbox: mailbox, name: name) { return .id(id) }
        let id = try await searchFolderID(named: name, mailbox: mailbox)
        searchFolders.remember(mailbox: mailbox, name: name, id: id)
        return .id(id)
    }

    func searchFolderID(named name: String, mailbox: String) async throws -> String {
        var candidates: [EWSFolder]
        do {
            candidates = try await childFolders(of: folderID("searchfolders", mailbox: mailbox), mailbox: mailbox)
        } catch let error as EWSCallError where error.decision.code == "ErrorFolderNotFound" {
            // gromox 3.10 knows no `searchfolders` id (E-3051): its search root is the MAPI store's
            // "Finder" under the root, and a few search folders sit under the root itself.
            let top = try await childFolders(of: folderID("root", mailbox: mailbox), mailbox: mailbox)
            candidates = top
            if let finder = top.first(where: { $0.displayName == "Finder" && $0.folderType != "SearchFolder" }) {
                candidates += try await childFolders(of: .id(finder.folderID.id), mailbox: mailbox)
            }
        }
        if let match = candidates.first(where: { $0.folderType == "SearchFolder" && $0.displayName == name }) {
            return match.folderID.id
        }
        // Not a display name there: perhaps a folder id.
        let request = try GetFolderRequest(folders: [.id(name)], shape: .default)
        if case .getFolder(let messages) = try await client.call(request, route: routeFor(mailbox)),
           let message = messages.first, message.status.isSuccess, let folder = message.folders.first,
           folder.folderType == "SearchFolder" {
            return folder.folderID.id
        }
        throw EWSCallError(status: EWSResponseStatus(
            responseClass: .error, responseCode: "ErrorFolderNotFound",
            messageText: "no search folder named \"\(name)\" under searchfolders in \(mailbox), and no search folder has that id"))
    }
}
