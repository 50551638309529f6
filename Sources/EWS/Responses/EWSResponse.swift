/// A decoded EWS response body.
public enum EWSResponse: Hashable, Sendable {
    case subscribe([SubscribeResponseMessage])
    /// A GetStreamingEvents body: every message of every envelope, in order.
    case getStreamingEvents([StreamingEnvelope])
    case unsubscribe([EWSStatusResponseMessage])
    case syncFolderItems([SyncFolderItemsResponseMessage])
    case syncFolderHierarchy([SyncFolderHierarchyResponseMessage])
    case getItem([GetItemResponseMessage])
    case findItem([FindItemResponseMessage])
    case getFolder([GetFolderResponseMessage])
    case findFolder([FindFolderResponseMessage])
    case getUserSettings(GetUserSettingsResponse)
    /// A SOAP fault instead of the operation's response.
    case fault(EWSSOAPFault)

    /// The operation this response belongs to (nil for a fault).
    public var operation: EWSOperation? {
        switch self {
        case .subscribe: .subscribe
        case .getStreamingEvents: .getStreamingEvents
        case .unsubscribe: .unsubscribe
        case .syncFolderItems: .syncFolderItems
        case .syncFolderHierarchy: .syncFolderHierarchy
        case .getItem: .getItem
        case .findItem: .findItem
        case .getFolder: .getFolder
        case .findFolder: .findFolder
        case .getUserSettings: .getUserSettings
        case .fault: nil
        }
    }

    /// The statuses of all response messages (for logging/metrics and the action table).
    public var statuses: [EWSResponseStatus] {
        switch self {
        case .subscribe(let messages): messages.map(\.status)
        case .getStreamingEvents(let envelopes):
            envelopes.compactMap { if case .error(let error) = $0 { error.status } else { nil } }
        case .unsubscribe(let messages): messages.map(\.status)
        case .syncFolderItems(let messages): messages.map(\.status)
        case .syncFolderHierarchy(let messages): messages.map(\.status)
        case .getItem(let messages): messages.map(\.status)
        case .findItem(let messages): messages.map(\.status)
        case .getFolder(let messages): messages.map(\.status)
        case .findFolder(let messages): messages.map(\.status)
        case .getUserSettings, .fault: []
        }
    }
}
