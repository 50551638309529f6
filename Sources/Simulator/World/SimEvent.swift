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
    /// Heard only by subscriptions that name its folder (a search folder's events), not by
    /// SubscribeToAllFolders.
    var namedOnly = false
}
