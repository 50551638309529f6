/// `t:RequestServerVersion@Version`. Streaming needs at least Exchange2010_SP1 (fact sheet §1.3).
public struct EWSServerVersion: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let exchange2010SP1 = EWSServerVersion(rawValue: "Exchange2010_SP1")
    public static let exchange2010SP2 = EWSServerVersion(rawValue: "Exchange2010_SP2")
    public static let exchange2013 = EWSServerVersion(rawValue: "Exchange2013")
    public static let exchange2013SP1 = EWSServerVersion(rawValue: "Exchange2013_SP1")
    public static let exchange2016 = EWSServerVersion(rawValue: "Exchange2016")

    /// Whether requests at this version may carry `t:MaximumBodySize` (new in Exchange 2013).
    public var allowsMaximumBodySize: Bool {
        !["Exchange2007", "Exchange2009", "Exchange2010"].contains { rawValue.hasPrefix($0) }
    }
}

/// `t:ExchangeImpersonation/t:ConnectingSID` choice used by ewsfleet.
public enum EWSImpersonation: Hashable, Sendable {
    case smtpAddress(String)
    case primarySmtpAddress(String)

    public var address: String {
        switch self {
        case .smtpAddress(let address), .primarySmtpAddress(let address): address
        }
    }
}

/// SOAP headers of an EWS request.
public struct EWSRequestHeaders: Hashable, Sendable {
    public var serverVersion: EWSServerVersion
    public var impersonation: EWSImpersonation?

    public init(serverVersion: EWSServerVersion = .exchange2013SP1, impersonation: EWSImpersonation? = nil) {
        self.serverVersion = serverVersion
        self.impersonation = impersonation
    }
}

/// A folder reference: `t:DistinguishedFolderId` (well-known name, optionally in another mailbox)
/// or `t:FolderId`.
public enum EWSFolderID: Hashable, Sendable {
    case distinguished(String, changeKey: String? = nil, mailbox: String? = nil)
    case id(String, changeKey: String? = nil)

    public static let inbox = EWSFolderID.distinguished("inbox")
    public static let msgFolderRoot = EWSFolderID.distinguished("msgfolderroot")
    public static let root = EWSFolderID.distinguished("root")

    func write(to writer: inout XMLWriter) {
        switch self {
        case .distinguished(let name, let changeKey, let mailbox):
            guard let mailbox else {
                writer.empty("t:DistinguishedFolderId", ["Id": name, "ChangeKey": changeKey])
                return
            }
            writer.open("t:DistinguishedFolderId", ["Id": name, "ChangeKey": changeKey])
            writer.open("t:Mailbox")
            writer.element("t:EmailAddress", mailbox)
            writer.close("t:Mailbox")
            writer.close("t:DistinguishedFolderId")
        case .id(let id, let changeKey):
            writer.empty("t:FolderId", ["Id": id, "ChangeKey": changeKey])
        }
    }
}

/// An item (or folder) id with its optional ChangeKey, as found on the wire.
public struct EWSItemID: Hashable, Sendable, Codable {
    public var id: String
    public var changeKey: String?

    public init(id: String, changeKey: String? = nil) {
        self.id = id
        self.changeKey = changeKey
    }
}

/// Subscribable event types (`t:EventType`).
public enum EWSEventType: String, CaseIterable, Hashable, Sendable {
    case newMail = "NewMailEvent"
    case created = "CreatedEvent"
    case deleted = "DeletedEvent"
    case modified = "ModifiedEvent"
    case moved = "MovedEvent"
    case copied = "CopiedEvent"
    case freeBusyChanged = "FreeBusyChangedEvent"
}

/// `t:BaseShape`.
public enum EWSBaseShape: String, Hashable, Sendable {
    case idOnly = "IdOnly"
    case `default` = "Default"
    case allProperties = "AllProperties"
}

/// Properties ewsfleet requests for an item in GetItem (`t:FieldURI`).
public enum EWSItemProperty: String, CaseIterable, Hashable, Sendable {
    case subject = "item:Subject"
    case sender = "message:Sender"
    case dateTimeReceived = "item:DateTimeReceived"
    case size = "item:Size"
    case hasAttachments = "item:HasAttachments"
    case isRead = "message:IsRead"
    // Asked for only when the tenant's property profile names them (`--properties`).
    case internetMessageID = "message:InternetMessageId"
    case conversationID = "item:ConversationId"
    case from = "message:From"
    case toRecipients = "message:ToRecipients"
    case ccRecipients = "message:CcRecipients"
    case categories = "item:Categories"
    case importance = "item:Importance"
    case flag = "item:Flag"
    /// With `GetItemRequest.bodyType` (`Text` for a preview).
    case body = "item:Body"
    /// A search folder's listing is sorted by it (`FindItemRequest.Order.modifiedDescending`).
    case lastModifiedTime = "item:LastModifiedTime"
    // A calendar entry (`FindItemRequest.calendarView`).
    case start = "calendar:Start"
    case end = "calendar:End"
    case location = "calendar:Location"
    case organizer = "calendar:Organizer"
    case calendarItemType = "calendar:CalendarItemType"
    /// The iCalendar UID, which a series' occurrences and exceptions share with its master.
    case uid = "calendar:UID"

    /// What a calendar entry's mirror row holds besides the summary.
    public static let calendar: [EWSItemProperty] = [.subject, .start, .end, .location, .organizer, .calendarItemType, .uid]

    /// The summary ewsfleet records for each changed item (the mirror's columns).
    public static let summary: [EWSItemProperty] = [.subject, .sender, .dateTimeReceived, .size, .hasAttachments, .isRead]
}

/// `t:BodyType` of an item shape: the form the server converts the body to.
public enum EWSBodyType: String, Hashable, Sendable {
    case best = "Best"
    case html = "HTML"
    case text = "Text"
}

/// `m:SyncScope`.
public enum EWSSyncScope: String, Hashable, Sendable {
    case normalItems = "NormalItems"
    case normalAndAssociatedItems = "NormalAndAssociatedItems"
}

/// Request construction failure (a value outside what the schema allows).
public struct EWSRequestError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: String
    public var detail: String

    public var description: String { "EWSRequestError(\(code): \(detail))" }

    static func outOfRange(_ what: String, _ value: Int, _ range: ClosedRange<Int>) -> EWSRequestError {
        EWSRequestError(code: "outOfRange", detail: "\(what) must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
    }

    static func empty(_ what: String) -> EWSRequestError {
        EWSRequestError(code: "empty", detail: "\(what) must not be empty")
    }
}

extension XMLWriter {
    /// `<name>`, what `body` writes, `</name>`.
    mutating func within(_ name: String, _ attributes: KeyValuePairs<String, String?> = [:],
                         _ body: (inout XMLWriter) -> Void) {
        open(name, attributes)
        body(&self)
        close(name)
    }

    /// A response shape (`m:ItemShape`, `m:FolderShape`): the base shape, what `options` adds (the
    /// schema puts BodyType and MaximumBodySize between them), then the additional properties.
    mutating func shape(_ name: String, _ base: EWSBaseShape, additionalProperties: [String] = [],
                        options: (inout XMLWriter) -> Void = { _ in }) {
        within(name) { writer in
            writer.element("t:BaseShape", base.rawValue)
            options(&writer)
            writer.additionalProperties(additionalProperties)
        }
    }

    /// `t:AdditionalProperties` of a shape, one `t:FieldURI` per path; nothing when there is none
    /// (the schema refuses an empty list).
    mutating func additionalProperties(_ paths: [String]) {
        guard !paths.isEmpty else { return }
        within("t:AdditionalProperties") { writer in
            for path in paths { writer.empty("t:FieldURI", ["FieldURI": path]) }
        }
    }

    /// One `t:ItemId` per id, each with its ChangeKey when it has one.
    mutating func itemIDs(_ items: [EWSItemID]) {
        for item in items { empty("t:ItemId", ["Id": item.id, "ChangeKey": item.changeKey]) }
    }

    /// The paging view of FindItem and FindFolder (`m:IndexedPageItemView`, `m:IndexedPageFolderView`).
    mutating func indexedPageView(_ name: String, maxEntries: Int, offset: Int) {
        empty(name, ["MaxEntriesReturned": String(maxEntries), "Offset": String(offset), "BasePoint": "Beginning"])
    }
}

/// Paging arguments of FindItem and FindFolder, checked against the schema's and the server's limits.
func checkPaging(maxEntries: Int, limit: Int, offset: Int) throws(EWSRequestError) {
    guard (1...limit).contains(maxEntries) else { throw .outOfRange("MaxEntriesReturned", maxEntries, 1...limit) }
    guard offset >= 0 else { throw .outOfRange("Offset", offset, 0...Int(Int32.max)) }
}
