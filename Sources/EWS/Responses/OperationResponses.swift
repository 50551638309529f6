/// `m:SubscribeResponseMessage`: the new subscription id (streaming has no watermark).
public struct SubscribeResponseMessage: Hashable, Sendable, Codable {
    public var status: EWSResponseStatus
    public var subscriptionID: String?
    public var watermark: String?
}

/// A plain response message without payload (Unsubscribe).
public struct EWSStatusResponseMessage: Hashable, Sendable, Codable {
    public var status: EWSResponseStatus
}

/// One change in a SyncFolderItems response (`m:Changes` child).
public struct EWSItemChange: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        case create = "Create", update = "Update", delete = "Delete", readFlagChange = "ReadFlagChange"
    }

    public var kind: Kind
    public var itemID: EWSItemID
    /// Element name of the item for Create/Update (`Message`, `CalendarItem`, ...).
    public var itemType: String?
    /// For ReadFlagChange; for Create and Update only when `message:IsRead` was asked for.
    public var isRead: Bool?
}

/// `m:SyncFolderItemsResponseMessage`.
public struct SyncFolderItemsResponseMessage: Hashable, Sendable, Codable {
    public var status: EWSResponseStatus
    /// The new state; store it whole. Empty/absent on errors.
    public var syncState: String?
    /// `false` ⇒ call again immediately with the new state.
    public var includesLastItemInRange: Bool?
    public var changes: [EWSItemChange]
}

/// One change in a SyncFolderHierarchy response.
public struct EWSFolderChange: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable { case create = "Create", update = "Update", delete = "Delete" }

    public var kind: Kind
    public var folder: EWSFolder
}

/// `m:SyncFolderHierarchyResponseMessage`.
public struct SyncFolderHierarchyResponseMessage: Hashable, Sendable, Codable {
    public var status: EWSResponseStatus
    public var syncState: String?
    public var includesLastFolderInRange: Bool?
    public var changes: [EWSFolderChange]
}

/// A folder as returned by GetFolder/SyncFolderHierarchy (IdOnly gives just the id).
public struct EWSFolder: Hashable, Sendable, Codable {
    /// Element name: `Folder`, `CalendarFolder`, `ContactsFolder`, `SearchFolder`, `TasksFolder`.
    public var folderType: String
    public var folderID: EWSItemID
    public var parentFolderID: EWSItemID?
    public var displayName: String?
    public var folderClass: String?
}

/// `m:GetFolderResponseMessage`.
public struct GetFolderResponseMessage: Hashable, Sendable, Codable {
    public var status: EWSResponseStatus
    public var folders: [EWSFolder]
}

/// `m:FindFolderResponseMessage`.
public struct FindFolderResponseMessage: Hashable, Sendable, Codable {
    public var status: EWSResponseStatus
    public var folders: [EWSFolder]
    /// Absent on errors; a page without it is malformed.
    public var includesLastItemInRange: Bool?
    /// Where the next page starts.
    public var indexedPagingOffset: Int?

    public init(status: EWSResponseStatus, folders: [EWSFolder], includesLastItemInRange: Bool?, indexedPagingOffset: Int?) {
        self.status = status
        self.folders = folders
        self.includesLastItemInRange = includesLastItemInRange
        self.indexedPagingOffset = indexedPagingOffset
    }
}

/// An item summary as requested by ``GetItemRequest`` (absent properties stay nil).
public struct EWSItem: Hashable, Sendable, Codable {
    public struct Mailbox: Hashable, Sendable, Codable {
        public var name: String?
        public var emailAddress: String?

        public init(name: String? = nil, emailAddress: String? = nil) {
            self.name = name
            self.emailAddress = emailAddress
        }
    }

    /// Element name: `Message`, `CalendarItem`, `Item`, ...
    public var itemType: String
    public var itemID: EWSItemID
    public var parentFolderID: EWSItemID?
    public var subject: String?
    public var sender: Mailbox?
    /// xs:dateTime as sent (UTC, e.g. `2024-01-01T10:00:00Z`).
    public var dateTimeReceived: String?
    public var size: Int?
    public var hasAttachments: Bool?
    public var isRead: Bool?
    // Present only when asked for (a property profile beyond the summary).
    public var internetMessageID: String?
    public var conversationID: String?
    public var from: Mailbox?
    public var toRecipients: [Mailbox]?
    public var ccRecipients: [Mailbox]?
    public var categories: [String]?
    public var importance: String?
    public var flagStatus: String?
    /// The body's text as sent (in the form `BodyType` asked for).
    public var body: String?
    // A calendar entry (CalendarItem): as sent, times in xs:dateTime form.
    public var start: String?
    public var end: String?
    public var location: String?
    public var organizer: Mailbox?
    /// `Single`, `Occurrence`, `Exception` or `RecurringMaster`.
    public var calendarItemType: String?
    public var uid: String?

    public init(itemType: String, itemID: EWSItemID, parentFolderID: EWSItemID? = nil, subject: String? = nil,
                sender: Mailbox? = nil, dateTimeReceived: String? = nil, size: Int? = nil, hasAttachments: Bool? = nil,
                isRead: Bool? = nil) {
        self.itemType = itemType
        self.itemID = itemID
        self.parentFolderID = parentFolderID
        self.subject = subject
        self.sender = sender
        self.dateTimeReceived = dateTimeReceived
        self.size = size
        self.hasAttachments = hasAttachments
        self.isRead = isRead
    }
}

/// `m:FindItemResponseMessage`: one page of a folder's items (the RootFolder's attributes say
/// where the page ends and how many items the view holds).
public struct FindItemResponseMessage: Hashable, Sendable, Codable {
    public var status: EWSResponseStatus
    public var items: [EWSItem]
    /// Absent on errors; a page without it is malformed.
    public var includesLastItemInRange: Bool?
    /// Where the next page starts.
    public var indexedPagingOffset: Int?
    /// Items in the whole view: a count that changes between pages means the view moved under them.
    public var totalItemsInView: Int?

    public init(status: EWSResponseStatus, items: [EWSItem], includesLastItemInRange: Bool?, indexedPagingOffset: Int?,
                totalItemsInView: Int?) {
        self.status = status
        self.items = items
        self.includesLastItemInRange = includesLastItemInRange
        self.indexedPagingOffset = indexedPagingOffset
        self.totalItemsInView = totalItemsInView
    }
}

/// `m:GetItemResponseMessage`: one per requested id, in request order; check each one.
public struct GetItemResponseMessage: Hashable, Sendable, Codable {
    public var status: EWSResponseStatus
    public var items: [EWSItem]
}
