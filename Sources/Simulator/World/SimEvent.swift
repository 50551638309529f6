import Foundation

/// One notification event, already in wire terms (ids, change keys, parent ids).
struct SimEvent: Sendable {
    enum Kind: String, Sendable, CaseIterable {
        case copied = "CopiedEvent", created = "CreatedEvent", deleted = "DeletedEvent"
        case modified = "ModifiedEvent", moved = "MovedEvent", newMail = "NewMailEvent"
        case freeBusyChanged = "FreeBusyChangedEvent"
    }

    var kind: Kind
    var time: Date
    var isFolder: Bool
    var id: String
    var changeKey: String?
    var parentFolderId: String
    var oldId: String?
    var oldParentFolderId: String?
    var unreadCount: Int?
    /// Folders (by index) the event concerns, for matching folder-scoped subscriptions.
    var folderScope: [UInt32]
}

/// A streaming subscription. It lives on its mailbox's server and outlives its connections.
final class Subscription {
    let id: String
    let mailbox: Mailbox
    /// Identity key of the creator; only the owner may open it.
    let owner: String
    let allFolders: Bool
    let folders: Set<UInt32>
    let eventTypes: Set<SimEvent.Kind>
    var connection: StreamConnection?
    var queue: [SimEvent] = []
    var missedEvents = false
    /// Offset after which a detached subscription is gone.
    var expiresAt: Duration

    init(id: String, mailbox: Mailbox, owner: String, allFolders: Bool, folders: Set<UInt32>,
         eventTypes: Set<SimEvent.Kind>, expiresAt: Duration) {
        self.id = id
        self.mailbox = mailbox
        self.owner = owner
        self.allFolders = allFolders
        self.folders = folders
        self.eventTypes = eventTypes
        self.expiresAt = expiresAt
    }

    func matches(_ event: SimEvent) -> Bool {
        guard eventTypes.contains(event.kind) else { return false }
        if allFolders { return true }
        return event.folderScope.contains { folders.contains($0) }
    }
}
