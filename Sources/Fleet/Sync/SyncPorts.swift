import EWS
import Store

/// The EWS calls the change pipeline makes. `TenantEWS` implements it over `EWSClient`; unit tests
/// use an in-memory mailbox. Failures are `EWSCallError`s.
protocol SyncService: Sendable {
    /// `readState`: each Create and Update carries IsRead (a baseline records it without GetItem).
    /// `ignore`: item ids the server skips (the mailbox's ignore list).
    func syncFolderItems(mailbox: String, folder: String, syncState: String?, maxChanges: Int, readState: Bool,
                         ignore: [String]) async throws -> SyncFolderItemsResponseMessage
    /// The summary properties (the mirror's columns) plus `fields` beyond them.
    func getItems(mailbox: String, ids: [EWSItemID], fields: Set<ItemField>) async throws -> [GetItemResponseMessage]
    /// One page of a folder's items in `order`, with `fields` (no body, no recipients), under
    /// `restriction` if any. A search folder key (`search:NAME`) is resolved to its id.
    func findItems(mailbox: String, folder: String, fields: Set<ItemField>, restriction: EWSRestriction?,
                   order: FindItemRequest.Order, offset: Int, maxEntries: Int) async throws -> FindItemResponseMessage
    /// A calendar's entries in `window` (FindItem with a CalendarView): ids, ChangeKeys, UIDs and
    /// CalendarItemTypes, at most `maxEntries` (IncludesLastItemInRange false when there are more).
    func calendarView(mailbox: String, folder: String, window: CalendarWindow, maxEntries: Int) async throws
        -> FindItemResponseMessage
    /// Calendar entries with the properties of their mirror rows (GetItem): one message per id, then
    /// one per occurrence of `mastersOf`, which answers with that occurrence's recurring master.
    func getCalendarItems(mailbox: String, ids: [EWSItemID], mastersOf: [String]) async throws -> [GetItemResponseMessage]
}

/// What the change pipeline reads and writes in PostgreSQL. `PostgresSyncStore` implements it.
protocol SyncStore: Sendable {
    func syncState(mailboxID: Int64, folder: String) async throws -> String?
    func mirror(mailboxID: Int64, folder: String) async throws -> [String: MirrorRepository.MirrorEntry]
    /// Whether a baseline of the folder was interrupted before its last page.
    func baselining(mailboxID: Int64, folder: String) async throws -> Bool
    /// The filter the folder's mirror was last scoped under ('' = none).
    func filterScope(mailboxID: Int64, folder: String) async throws -> String
    /// The mailbox's ignore list (`mailbox ignore`).
    func ignored(mailboxID: Int64) async throws -> [String]
    /// The folder's mirror rows of these items (those it has).
    func mirrorItems(mailboxID: Int64, folder: String, itemIDs: [String]) async throws -> [String: MirrorItem]
    /// Commits one page; returns the outbox rows inserted.
    func commit(_ checkpoint: Checkpoint) async throws -> Int
}

struct PostgresSyncStore: SyncStore {
    let pool: PostgresPool

    func syncState(mailboxID: Int64, folder: String) async throws -> String? {
        let state = try await SyncStateRepository(pool: pool).syncStates(mailboxID: mailboxID)[folder]
        return state.flatMap { $0.isEmpty ? nil : $0 }
    }

    func mirror(mailboxID: Int64, folder: String) async throws -> [String: MirrorRepository.MirrorEntry] {
        try await MirrorRepository(pool: pool).mirror(mailboxID: mailboxID, folderID: folder)
    }

    func mirrorItems(mailboxID: Int64, folder: String, itemIDs: [String]) async throws -> [String: MirrorItem] {
        try await MirrorRepository(pool: pool).mirrorItems(mailboxID: mailboxID, folderID: folder, itemIDs: itemIDs)
    }

    func baselining(mailboxID: Int64, folder: String) async throws -> Bool {
        try await SyncStateRepository(pool: pool).baselining(mailboxID: mailboxID, folderID: folder)
    }

    func ignored(mailboxID: Int64) async throws -> [String] {
        try await MailboxRepository(pool: pool).ignored(mailboxID: mailboxID)
    }

    func filterScope(mailboxID: Int64, folder: String) async throws -> String {
        try await SyncStateRepository(pool: pool).filterScope(mailboxID: mailboxID, folderID: folder)
    }

    func commit(_ checkpoint: Checkpoint) async throws -> Int {
        try await CheckpointWriter(pool: pool).commit(checkpoint).changesInserted
    }
}

/// The EWS calls of a hierarchy sync. `TenantEWS` implements it.
protocol HierarchyService: Sendable {
    func syncFolderHierarchy(mailbox: String, syncState: String?) async throws -> SyncFolderHierarchyResponseMessage
    func folderIDs(mailbox: String, distinguished names: [String]) async throws -> [String: String]
}

/// What a hierarchy sync reads and writes in PostgreSQL. `FolderRepository` implements it.
protocol HierarchyStore: Sendable {
    func hierarchy(mailboxID: Int64) async throws -> FolderRepository.Hierarchy
    func commit(_ checkpoint: FolderRepository.HierarchyCheckpoint) async throws -> Int
}

extension FolderRepository: HierarchyStore {}
extension TenantEWS: HierarchyService {}
