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
