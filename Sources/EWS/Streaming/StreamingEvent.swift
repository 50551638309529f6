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

/// All events of one subscription in one envelope (`m:Notification` or `t:Notification`).
public struct SubscriptionNotification: Hashable, Sendable, Codable {
    public var subscriptionID: String
    /// Pull-only fields, tolerated.
    public var previousWatermark: String?
    public var moreEvents: Bool?
    public var events: [StreamingEvent]

    public init(subscriptionID: String, previousWatermark: String? = nil, moreEvents: Bool? = nil,
        events: [StreamingEvent])
    {
        self.subscriptionID = subscriptionID
        self.previousWatermark = previousWatermark
        self.moreEvents = moreEvents
        self.events = events
    }
}

/// An error message in a GetStreamingEvents stream: the code and the affected subscription ids
/// (empty ⇒ connection-level failure).
public struct StreamingSubscriptionError: Hashable, Sendable, Codable {
    public var status: EWSResponseStatus
    public var subscriptionIDs: [String]

    public init(status: EWSResponseStatus, subscriptionIDs: [String]) {
        self.status = status
        self.subscriptionIDs = subscriptionIDs
    }

    public var isConnectionLevel: Bool { subscriptionIDs.isEmpty }
}

/// One decoded message of a GetStreamingEvents body. A single wire envelope normally yields
/// exactly one of these; an (old-style) envelope with both an error and `Closed` yields the
/// error, then `.closed`.
public enum StreamingEnvelope: Hashable, Sendable {
    /// `ConnectionStatus` OK.
    case heartbeat
    /// Notifications, one entry per subscription id.
    case notifications([SubscriptionNotification])
    /// Per-subscription (or connection-level) error.
    case error(StreamingSubscriptionError)
    /// `ConnectionStatus` Closed: the server ends the body after this.
    case closed
    /// A SOAP fault in place of a stream envelope (the request failed as a whole).
    case fault(EWSSOAPFault)
}
