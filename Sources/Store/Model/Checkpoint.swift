public import Foundation
import Crypto

public enum ChangeKind: String, Sendable, CaseIterable, Codable {
    case created, updated, readFlag = "read_flag", deleted
}

/// One item of the folder mirror with the selected properties.
public struct MirrorItem: Sendable, Equatable {
    public var folderID: String
    public var itemID: String
    public var changeKey: String
    public var isRead: Bool?
    public var subject: String?
    public var sender: String?
    public var receivedAt: Date?
    public var size: Int64?
    public var hasAttachments: Bool?
    /// The profile's fields beyond the columns above (`items.properties`).
    public var details: ItemDetails

    public init(folderID: String, itemID: String, changeKey: String, isRead: Bool? = nil, subject: String? = nil,
                sender: String? = nil, receivedAt: Date? = nil, size: Int64? = nil, hasAttachments: Bool? = nil,
                details: ItemDetails = ItemDetails()) {
        self.folderID = folderID
        self.itemID = itemID
        self.changeKey = changeKey
        self.isRead = isRead
        self.subject = subject
        self.sender = sender
        self.receivedAt = receivedAt
        self.size = size
        self.hasAttachments = hasAttachments
        self.details = details
    }
}

/// The extended properties of an item as the mirror keeps them (`items.properties`, JSON keys as in
/// `changes.properties`): those of the tenant's profile beyond the mirror's columns. Never the body
/// preview: that personal data lives in `changes` only, where `changes prune` retires it.
public struct ItemDetails: Sendable, Equatable, Codable {
    public var internetMessageID: String?
    public var conversationID: String?
    /// Addresses (or display names where a server gives no address).
    public var from: String?
    public var to: [String]?
    public var cc: [String]?
    public var categories: [String]?
    /// `Low`, `Normal` or `High`.
    public var importance: String?
    /// `NotFlagged`, `Flagged` or `Complete`.
    public var flagStatus: String?
    // A calendar entry (an occurrence, an exception or a single appointment): times as xs:dateTime.
    public var start: String?
    public var end: String?
    public var location: String?
    public var organizer: String?
    /// `Single`, `Occurrence`, `Exception` (or `RecurringMaster` where a server does not expand series).
    public var calendarItemType: String?
    /// The recurring master's ItemId, for an occurrence or an exception.
    public var masterID: String?
    /// The iCalendar UID a series shares.
    public var uid: String?

    enum CodingKeys: String, CodingKey {
        case internetMessageID = "internet_message_id", conversationID = "conversation_id", from, to, cc, categories
        case importance, flagStatus = "flag_status"
        case start, end, location, organizer, calendarItemType = "calendar_item_type", masterID = "master_id", uid
    }

    public init(internetMessageID: String? = nil, conversationID: String? = nil, from: String? = nil, to: [String]? = nil,
                cc: [String]? = nil, categories: [String]? = nil, importance: String? = nil, flagStatus: String? = nil,
                start: String? = nil, end: String? = nil, location: String? = nil, organizer: String? = nil,
                calendarItemType: String? = nil, masterID: String? = nil, uid: String? = nil) {
        self.start = start
        self.end = end
        self.location = location
        self.organizer = organizer
        self.calendarItemType = calendarItemType
        self.masterID = masterID
        self.uid = uid
        self.internetMessageID = internetMessageID
        self.conversationID = conversationID
        self.from = from
        self.to = to
        self.cc = cc
        self.categories = categories
        self.importance = importance
        self.flagStatus = flagStatus
    }

    /// The JSON the mirror stores (`{}` when empty): sorted keys, absent fields left out.
    public var json: String {
        if self == ItemDetails() { return "{}" }  // the default profile: every mirror upsert
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Reads the mirror's JSON; anything unreadable is no details (they are refetched on the
    /// item's next change).
    public init(json: String) {
        self = (try? JSONDecoder().decode(ItemDetails.self, from: Data(json.utf8))) ?? ItemDetails()
    }
}

/// A read-state change: no GetItem, only the flag (and the change key when EWS gives one).
public struct ReadFlagUpdate: Sendable, Equatable {
    public var itemID: String
    public var changeKey: String
    public var isRead: Bool

    public init(itemID: String, changeKey: String, isRead: Bool) {
        self.itemID = itemID
        self.changeKey = changeKey
        self.isRead = isRead
    }
}

/// A row for the `changes` outbox.
public struct ChangeRecord: Sendable, Equatable {
    public var folderID: String
    public var itemID: String
    /// Empty when EWS gives none (deletes).
    public var changeKey: String
    public var kind: ChangeKind
    public var isRead: Bool?
    /// A JSON object of the selected properties (`{}` when none).
    public var properties: Data

    public init(folderID: String, itemID: String, changeKey: String, kind: ChangeKind, isRead: Bool? = nil,
                properties: Data = Data("{}".utf8)) {
        self.folderID = folderID
        self.itemID = itemID
        self.changeKey = changeKey
        self.kind = kind
        self.isRead = isRead
        self.properties = properties
    }
}

/// Everything one SyncFolderItems page changes, committed in ONE transaction: the mirror, the
/// outbox rows and the new SyncState land together or not at all, so a crash between pages loses
/// nothing and a replayed page inserts nothing twice.
public struct Checkpoint: Sendable {
    public var lease: LeaseToken?
    public var tenant: String
    public var mailboxID: Int64
    public var mailbox: String
    public var folderID: String
    public var syncState: String
    /// Names the sync step that produced this page's outbox rows (part of their unique key, see
    /// schema.sql migration 5): a replay of the same step inserts nothing twice.
    public var syncStep: String
    public var upserts: [MirrorItem] = []
    public var readFlags: [ReadFlagUpdate] = []
    public var deletes: [String] = []
    public var changes: [ChangeRecord] = []
    public var observedAt: Date
    /// Set when this page completes a full resync (records last_full_sync_at).
    public var completesFullSync = false
    /// With `completesFullSync`: the filter the mirror is now scoped under ('' = none), as
    /// `folder_sync.filter_scope`.
    public var filterScope = ""
    /// A page of a baseline (`--start now`) that is not its last: an interrupted baseline goes on
    /// as one (`folder_sync.baselining`).
    public var baselining = false
    /// Not a sync page (a DeletedEvent applied at once): the folder's SyncState and sync times
    /// stay as they are.
    public var keepsSyncState = false

    public init(lease: LeaseToken?, tenant: String, mailboxID: Int64, mailbox: String, folderID: String,
                syncState: String, syncStep: String, observedAt: Date) {
        self.lease = lease
        self.tenant = tenant
        self.mailboxID = mailboxID
        self.mailbox = mailbox
        self.folderID = folderID
        self.syncState = syncState
        self.syncStep = syncStep
        self.observedAt = observedAt
    }
}

/// The `sync_step` of outbox rows.
public enum SyncStep {
    /// An incremental page: derived from the SyncState it was requested with, so the same page
    /// fetched and committed twice (a commit whose acknowledgement was lost, a stale writer) gives
    /// the same key and inserts nothing the second time, whatever the ChangeKeys do.
    public static func incremental(from requestState: String) -> String {
        "s:" + SHA256.hash(data: Data(requestState.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// A step that is not derived from a stored SyncState (a page of a from-scratch resync, a
    /// dropped folder): unique, because these steps emit only what differs from the mirror, in the
    /// same transaction that updates it, and that is what keeps them from emitting twice.
    public static func fresh(_ kind: String) -> String { "\(kind):" + UUID().uuidString.lowercased() }
}
