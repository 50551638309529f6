public import Foundation

/// One organisation: its endpoint prefix, identities and mailboxes.
final class Tenant {
    let index: Int
    let name: String
    let username: String
    let password: String
    let clientId: String
    let clientSecret: String
    /// Password shared by the tenant's ordinary mailbox users (Basic, no impersonation right).
    let userPassword: String
    let servers: [String]
    var mailboxes: [Mailbox] = []
    /// How this tenant speaks on the wire; changed at run time by `SimWorld.setDialect`.
    var dialect: SimDialect
    /// The gromox dialect's subscription id counter: gromox numbers subscriptions 1, 2, 3… per
    /// server process and starts again after a restart.
    var subscriptionCounter: UInt32 = 0

    init(index: Int, name: String, username: String, password: String, clientId: String, clientSecret: String,
         userPassword: String, servers: [String], dialect: SimDialect) {
        self.index = index
        self.name = name
        self.username = username
        self.password = password
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.userPassword = userPassword
        self.servers = servers
        self.dialect = dialect
    }
}

/// A mailbox: a handful of folders, items by stable key, a change sequence, and the ids of the
/// subscriptions targeting it. Kept small so 10,000 of them fit comfortably.
final class Mailbox {
    let tenantIndex: Int
    let index: Int
    let smtp: String
    let serverIndex: Int
    var folders: [Folder] = []
    var items: [UInt64: Item] = [:]
    var nextItemKey: UInt64 = 1
    /// Every mutation takes the next value; change keys and sync states are built on it.
    var sequence: UInt64 = 0
    var subscriptionIds: [String] = []
    var ledger: [LedgerRecord] = []
    var ledgerDropped = 0
    /// Folders hard-deleted, for SyncFolderHierarchy's Delete changes.
    var folderTombstones: [FolderTombstone] = []
    /// Calendar entries of the `calendar` folder, by item key (keys shared with `items`).
    var calendar: [UInt64: CalendarEvent] = [:]

    init(tenantIndex: Int, index: Int, smtp: String, serverIndex: Int) {
        self.tenantIndex = tenantIndex
        self.index = index
        self.smtp = smtp
        self.serverIndex = serverIndex
    }

    func nextSequence() -> UInt64 {
        sequence += 1
        return sequence
    }

    func folder(distinguished name: String) -> Folder? {
        folders.first { $0.distinguished == name }
    }

    /// Never reuses a deleted folder's index (folder ids derive from it).
    func nextFolderIndex() -> UInt32 {
        max(folders.map(\.index).max() ?? 0, folderTombstones.map(\.index).max() ?? 0) + 1
    }
}

/// A folder that was hard-deleted: enough to report it as a hierarchy Delete.
struct FolderTombstone {
    var index: UInt32
    var parentIndex: UInt32?
    var displayName: String
    var createdSequence: UInt64
    var deletedSequence: UInt64
}

/// A folder with its members and tombstones (items that left it), for net-change sync.
final class Folder {
    let index: UInt32
    let distinguished: String?
    var displayName: String
    let parentIndex: UInt32?
    let folderClass: String
    let createdSequence: UInt64
    var changeSequence: UInt64
    var itemKeys: Set<UInt64> = []
    /// Maintained on every insert/move/delete/read change (folder events carry it).
    var unread = 0
    var tombstones: [Tombstone] = []
    /// Sync states older than this refer to pruned tombstones and are refused as invalid.
    var prunedThrough: UInt64 = 0
    /// A search folder's definition; its content is computed from it (see `SimWorld.contents`).
    var search: SearchDefinition?

    init(index: UInt32, distinguished: String?, displayName: String, parentIndex: UInt32?, folderClass: String,
         createdSequence: UInt64) {
        self.index = index
        self.distinguished = distinguished
        self.displayName = displayName
        self.parentIndex = parentIndex
        self.folderClass = folderClass
        self.createdSequence = createdSequence
        self.changeSequence = createdSequence
    }
}

/// What a search folder holds: the items of its base folders that its restriction matches, kept
/// current as they change (Exchange keeps a search folder's results up to date the same way).
struct SearchDefinition {
    var baseFolders: Set<UInt32>
    var restriction: SimRestriction
}

/// An item that left a folder (hard delete or move). `createdSequence` is when it entered that folder.
struct Tombstone {
    var itemId: String
    var createdSequence: UInt64
    var deletedSequence: UInt64
}

struct Item {
    let key: UInt64
    /// Bumped on every move, so the item's EWS id changes with its folder, as Exchange's does.
    var generation: UInt32
    var folderIndex: UInt32
    /// When the item entered its current folder.
    var createdSequence: UInt64
    var contentSequence: UInt64
    var readSequence: UInt64
    /// Last modification of any kind: what SyncFolderItems reports from.
    var changeSequence: UInt64
    /// What the change key is derived from: `changeSequence`, except that a server which keeps the
    /// ChangeKey on a read-state change (`keepChangeKeyOnReadChange`) leaves it behind on reads.
    var keySequence: UInt64
    var isRead: Bool
    var isFlagged: Bool
    var subject: String
    var sender: String
    var received: Date
    var size: Int
    var hasAttachments: Bool
}

/// A ledger row as stored: ~40 bytes, ids and change keys are derived when read (they are pure
/// functions of mailbox, item key, generation and sequence), so 10,000 busy mailboxes stay small.
struct LedgerRecord {
    enum Kind: UInt8 {
        case created, read, unread, updated, moved, deleted, folderCreated

        var name: String {
            switch self {
            case .created: "created"
            case .read: "read"
            case .unread: "unread"
            case .updated: "updated"
            case .moved: "moved"
            case .deleted: "deleted"
            case .folderCreated: "folder_created"
            }
        }
    }

    var sequence: UInt64
    var time: Double
    var kind: Kind
    /// Item key, or folder index for `folderCreated`.
    var key: UInt64
    var generation: UInt32
    var folder: UInt32
    /// 0 unread, 1 read, 2 not applicable.
    var isRead: UInt8
    /// The item's change key after this change (its `keySequence`).
    var keySequence: UInt64

    init(sequence: UInt64, time: Date, kind: Kind, item: Item, isRead: Bool?) {
        self.sequence = sequence
        self.time = time.timeIntervalSince1970
        self.kind = kind
        self.key = item.key
        self.generation = item.generation
        self.folder = item.folderIndex
        self.isRead = isRead.map { $0 ? 1 : 0 } ?? 2
        self.keySequence = item.keySequence
    }

    init(sequence: UInt64, time: Date, folderCreated folder: UInt32) {
        self.sequence = sequence
        self.time = time.timeIntervalSince1970
        self.kind = .folderCreated
        self.key = UInt64(folder)
        self.generation = 0
        self.folder = folder
        self.isRead = 2
        self.keySequence = sequence
    }
}

/// One row of the ground-truth ledger: every change ever made to a mailbox, in order.
public struct LedgerEntry: Sendable, Codable, Equatable {
    public var sequence: UInt64
    public var time: Date
    public var kind: String
    public var itemId: String?
    public var oldItemId: String?
    public var folder: String
    public var changeKey: String?
    public var isRead: Bool?
}
