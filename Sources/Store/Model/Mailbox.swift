/// Which folders of a mailbox ewsfleet watches.
public enum WatchMode: Sendable, Equatable {
    /// Every folder: SyncFolderHierarchy plus a SubscribeToAllFolders subscription.
    case allFolders
    /// Distinguished folder names (`inbox`), folder ids, or search folders (`search:NAME`).
    case folders([String])

    public static let `default` = WatchMode.folders(["inbox"])

    /// A search folder, named by its display name or its EWS folder id after this prefix. Its
    /// items are listed with FindItem, not synced (SyncFolderItems refuses search folders).
    public static let searchPrefix = "search:"

    /// Refuses a folder name that cannot name a folder: empty, `search:` with no name, or longer
    /// than a folder id or display name can be.
    public static func check(folder: String) throws(StoreError) {
        let name = folder.hasPrefix(searchPrefix) ? folder.dropFirst(searchPrefix.count) : Substring(folder)
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, folder.count <= 512,
              !folder.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw StoreError(.invalidInput, "invalid folder \"\(folder)\": give a distinguished name (inbox), a folder id, "
                             + "or search:NAME for a search folder")
        }
    }
}

/// Where a mailbox's outbox starts (`mailbox add|import --start`).
public enum StartMode: String, Sendable, CaseIterable, Codable {
    /// Every item its folders hold when first synced becomes a `created` row (fetched with GetItem).
    case backfill
    /// What its folders hold when first synced is only mirrored (ids and read states from the sync
    /// pages, no GetItem, no outbox row); changes from then on are recorded.
    case now
}

public struct Mailbox: Sendable, Equatable {
    public var id: Int64
    public var tenantID: Int64
    public var tenantName: String
    /// Always lower-case.
    public var smtpAddress: String
    public var watch: WatchMode
    /// false = paused.
    public var enabled: Bool
    /// When `mailbox resync` last asked for a full resync; a change tells the running actor.
    public var resyncRequestedAt: Date? = nil
    /// Overrides the tenant's `syncMode` when set.
    public var syncMode: SyncMode? = nil
    /// Overrides the tenant's `pollIntervalSeconds` when set.
    public var pollIntervalSeconds: Int? = nil
    public var start: StartMode = .backfill
    /// Only items it matches reach the mirror and `changes` (`--filter`); nil = every item.
    public var filter: MailboxFilter? = nil

    /// The mode this mailbox runs in under `tenant`.
    public func effectiveMode(in tenant: Tenant) -> SyncMode { syncMode ?? tenant.syncMode }

    /// Seconds between its syncs in sync-only mode under `tenant`.
    public func effectivePollInterval(in tenant: Tenant) -> Int { pollIntervalSeconds ?? tenant.pollIntervalSeconds }
}

/// Lower-cases and checks an SMTP address the way the schema's CHECK does, so the CLI reports a
/// bad address before it reaches the database.
public enum SMTPAddress {
    public static func normalize(_ raw: String) -> String? {
        let address = raw.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              !address.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," || $0 == ";" }),
              address.utf8.count <= 320
        else { return nil }
        return address
    }
}

public import Foundation
