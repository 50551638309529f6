/// `m:Subscribe` with a `m:StreamingSubscriptionRequest` (fact sheet §2).
public struct SubscribeRequest: EWSOperationRequest, Hashable {
    public enum Scope: Hashable, Sendable {
        /// An explicit folder list (1...n), each counted against EWSMaxSubscriptions.
        case folders([EWSFolderID])
        /// `SubscribeToAllFolders="true"`: one subscription for the whole mailbox.
        case allFolders
    }

    public let scope: Scope
    public let eventTypes: [EWSEventType]
    public var operation: EWSOperation { .subscribe }

    public init(scope: Scope, eventTypes: [EWSEventType] = EWSEventType.allCases) throws(EWSRequestError) {
        if case .folders(let folders) = scope, folders.isEmpty { throw .empty("folder list") }
        guard !eventTypes.isEmpty else { throw .empty("event types") }
        self.scope = scope
        self.eventTypes = eventTypes
    }

    public func writeBody(to writer: inout XMLWriter) {
        writer.open("m:Subscribe")
        switch scope {
        case .allFolders:
            writer.open("m:StreamingSubscriptionRequest", ["SubscribeToAllFolders": "true"])
        case .folders(let folders):
            writer.open("m:StreamingSubscriptionRequest")
            writer.open("t:FolderIds")
            for folder in folders { folder.write(to: &writer) }
            writer.close("t:FolderIds")
        }
        writer.open("t:EventTypes")
        for eventType in eventTypes { writer.element("t:EventType", eventType.rawValue) }
        writer.close("t:EventTypes")
        writer.close("m:StreamingSubscriptionRequest")
        writer.close("m:Subscribe")
    }
}

/// `m:GetStreamingEvents` (fact sheet §3.1): 1...200 ids, ConnectionTimeout 1...30 minutes.
public struct GetStreamingEventsRequest: EWSOperationRequest, Hashable {
    public static let maxSubscriptionIDs = 200
    public static let connectionTimeoutRange = 1...30

    public let subscriptionIDs: [String]
    public let connectionTimeoutMinutes: Int
    public var operation: EWSOperation { .getStreamingEvents }

    public init(subscriptionIDs: [String], connectionTimeoutMinutes: Int = 30) throws(EWSRequestError) {
        guard (1...Self.maxSubscriptionIDs).contains(subscriptionIDs.count) else {
            throw .outOfRange("subscription id count", subscriptionIDs.count, 1...Self.maxSubscriptionIDs)
        }
        guard Self.connectionTimeoutRange.contains(connectionTimeoutMinutes) else {
            throw .outOfRange("ConnectionTimeout (minutes)", connectionTimeoutMinutes, Self.connectionTimeoutRange)
        }
        if subscriptionIDs.contains(where: \.isEmpty) { throw .empty("subscription id") }
        self.subscriptionIDs = subscriptionIDs
        self.connectionTimeoutMinutes = connectionTimeoutMinutes
    }

    public func writeBody(to writer: inout XMLWriter) {
        writer.open("m:GetStreamingEvents")
        writer.open("m:SubscriptionIds")
        for id in subscriptionIDs { writer.element("t:SubscriptionId", id) }
        writer.close("m:SubscriptionIds")
        writer.element("m:ConnectionTimeout", String(connectionTimeoutMinutes))
        writer.close("m:GetStreamingEvents")
    }
}

/// `m:Unsubscribe` (fact sheet §4).
public struct UnsubscribeRequest: EWSOperationRequest, Hashable {
    public let subscriptionID: String
    public var operation: EWSOperation { .unsubscribe }

    public init(subscriptionID: String) throws(EWSRequestError) {
        guard !subscriptionID.isEmpty else { throw .empty("subscription id") }
        self.subscriptionID = subscriptionID
    }

    public func writeBody(to writer: inout XMLWriter) {
        writer.open("m:Unsubscribe")
        writer.element("m:SubscriptionId", subscriptionID)
        writer.close("m:Unsubscribe")
    }
}
