/// One event inside a `Notification` (fact sheet §3.4).
public struct StreamingEvent: Hashable, Sendable, Codable {
    public enum Kind: String, CaseIterable, Hashable, Sendable, Codable {
        case newMail = "NewMailEvent"
        case created = "CreatedEvent"
        case modified = "ModifiedEvent"
        case deleted = "DeletedEvent"
        case moved = "MovedEvent"
        case copied = "CopiedEvent"
        case freeBusyChanged = "FreeBusyChangedEvent"
        case status = "StatusEvent"
    }

    public var kind: Kind
    /// Present only when the server uses watermarks (normally absent in streaming).
    public var watermark: String?
    /// xs:dateTime as sent (UTC "Z").
    public var timeStamp: String?
    /// Exactly one of `itemID` / `folderID` for object events (the NEW id for Moved/Copied).
    public var itemID: EWSItemID?
    public var folderID: EWSItemID?
    public var parentFolderID: EWSItemID?
    /// Moved/Copied: the old id (item or folder) and old parent.
    public var oldItemID: EWSItemID?
    public var oldFolderID: EWSItemID?
    public var oldParentFolderID: EWSItemID?
    /// Modified events on folders may carry the unread count.
    public var unreadCount: Int?

    public init(
        kind: Kind, watermark: String? = nil, timeStamp: String? = nil, itemID: EWSItemID? = nil,
        folderID: EWSItemID? = nil, parentFolderID: EWSItemID? = nil, oldItemID: EWSItemID? = nil,
        oldFolderID: EWSItemID? = nil, oldParentFolderID: EWSItemID? = nil, unreadCount: Int? = nil
    ) {
        self.kind = kind
        self.watermark = watermark
        self.timeStamp = timeStamp
        self.itemID = itemID
        self.folderID = folderID
        self.parentFolderID = parentFolderID
        self.oldItemID = oldItemID
        self.oldFolderID = oldFolderID
        self.oldParentFolderID = oldParentFolderID
        self.unreadCount = unreadCount
    }
}
