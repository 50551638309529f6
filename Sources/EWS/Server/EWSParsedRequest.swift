/// An EWS (or Autodiscover) request as a server — the simulator — receives it.
public struct EWSParsedRequest: Hashable, Sendable {
    public enum Body: Hashable, Sendable {
        case subscribe(SubscribeRequest)
        case getStreamingEvents(GetStreamingEventsRequest)
        case unsubscribe(UnsubscribeRequest)
        case syncFolderItems(SyncFolderItemsRequest)
        case syncFolderHierarchy(SyncFolderHierarchyRequest)
        case getItem(GetItemRequest)
        case getFolder(GetFolderRequest)
        case getUserSettings(GetUserSettingsRequest)
        /// A well-formed request for an operation (or variant, e.g. a pull Subscribe) this codec
        /// does not model; `element` is the body element's name.
        case unsupported(element: XMLName)
    }

    /// `t:RequestServerVersion@Version` (nil when the header is absent).
    public var serverVersion: EWSServerVersion?
    public var impersonation: EWSImpersonation?
    public var body: Body

    public init(serverVersion: EWSServerVersion?, impersonation: EWSImpersonation?, body: Body) {
        self.serverVersion = serverVersion
        self.impersonation = impersonation
        self.body = body
    }

    /// The operation requested (nil for `.unsupported`).
    public var operation: EWSOperation? {
        switch body {
        case .subscribe: .subscribe
        case .getStreamingEvents: .getStreamingEvents
        case .unsubscribe: .unsubscribe
        case .syncFolderItems: .syncFolderItems
        case .syncFolderHierarchy: .syncFolderHierarchy
        case .getItem: .getItem
        case .getFolder: .getFolder
        case .getUserSettings: .getUserSettings
        case .unsupported: nil
        }
    }
}
