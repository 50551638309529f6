public import Foundation

public enum AuthKind: String, Sendable, CaseIterable, Codable {
    case oauth2, basic, ntlm, negotiate
}

public enum TenantState: String, Sendable, CaseIterable, Codable {
    /// Normal operation.
    case active
    /// The server refuses EWS to this tenant (HTTP 403): retried rarely, mailboxes not hammered.
    case blocked
    /// Switched off by an operator.
    case disabled
}

/// How a tenant's mailboxes share streaming connections (`tenants.grouping`).
public enum StreamGrouping: String, Sendable, CaseIterable, Codable {
    /// Up to 200 subscriptions of one mailbox server per connection (Exchange's way).
    case auto
    /// One connection per mailbox: for a server that binds a subscription to the impersonated
    /// user and refuses other members on a grouped connection (gromox). Set by ewsfleet when it
    /// sees that; reset with `tenant update --grouping auto`.
    case perMailbox = "per_mailbox"
}

/// How a mailbox learns of changes (`tenants.sync_mode`, overridable per mailbox).
public enum SyncMode: String, Sendable, CaseIterable, Codable {
    /// Streaming notifications say when a folder changed; SyncFolderItems says what (plus a safety
    /// sync every `fleet.safetySyncInterval`). Near-real-time.
    case notify
    /// No subscription at all: every watched folder is synced from its stored SyncState on a timer
    /// (`poll_interval_seconds`). Nothing lives on the server, so it survives mailbox failover and
    /// server restarts, and needs no streaming connections; changes arrive up to one interval late.
    case syncOnly = "sync-only"
}

/// Per-tenant throttling policy: mirrors the EWS budget of the tenant's service identity.
public struct ThrottlingPolicy: Sendable, Equatable, Codable {
    public var maxConcurrentRequests: Int
    public var requestRate: Double
    public var subscriptionsPerConnection: Int
    /// Streaming connections the identity may hold (EWS HangingConnectionLimit): binds only
    /// without impersonation, where every connection is charged to the identity itself.
    public var hangingConnections: Int

    public init(maxConcurrentRequests: Int = 10, requestRate: Double = 20, subscriptionsPerConnection: Int = 200,
                hangingConnections: Int = 10) {
        self.maxConcurrentRequests = maxConcurrentRequests
        self.requestRate = requestRate
        self.subscriptionsPerConnection = subscriptionsPerConnection
        self.hangingConnections = hangingConnections
    }
}

/// A tenant row: the settings `tenant add|update` gave it (read through as `tenant.ewsURL`, ...)
/// and what the store and the fleet keep beside them. The secret stays sealed here;
/// `SecretKeyring.open` reveals it where needed.
@dynamicMemberLookup
public struct Tenant: Sendable, Equatable {
    public var id: Int64
    public var settings: NewTenant
    public var sealedSecret: SecretKeyring.Sealed?
    public var state: TenantState
    public var stateReason: String?
    public var grouping: StreamGrouping = .auto
    /// Why ewsfleet chose `per_mailbox` grouping.
    public var groupingReason: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: Int64, settings: NewTenant, sealedSecret: SecretKeyring.Sealed? = nil, state: TenantState = .active,
                stateReason: String? = nil, grouping: StreamGrouping = .auto, groupingReason: String? = nil,
                createdAt: Date, updatedAt: Date) {
        self.id = id
        self.settings = settings
        self.sealedSecret = sealedSecret
        self.state = state
        self.stateReason = stateReason
        self.grouping = grouping
        self.groupingReason = groupingReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public subscript<Value>(dynamicMember property: KeyPath<NewTenant, Value>) -> Value { settings[keyPath: property] }

    public subscript<Value>(dynamicMember setting: WritableKeyPath<NewTenant, Value>) -> Value {
        get { settings[keyPath: setting] }
        set { settings[keyPath: setting] = newValue }
    }
}

/// What `tenant add` supplies; the store assigns id and timestamps.
public struct NewTenant: Sendable, Equatable {
    public var name: String
    public var ewsURL: String
    public var autodiscoverURL: String?
    public var authKind: AuthKind
    /// Username (basic, ntlm, negotiate) or client id (oauth2).
    public var identity: String
    public var tokenURL: String?
    public var scope: String?
    public var impersonation: Bool
    public var throttling: ThrottlingPolicy
    public var caBundle: String?
    public var insecureTLS: Bool
    /// Whether its credential may go to a URL that is not https:// (`PlainHTTPRefusal`).
    public var allowPlainHTTP: Bool
    /// The mode of its mailboxes that name none.
    public var syncMode: SyncMode = .notify
    /// Sync-only mode: seconds between two syncs of a mailbox (mailboxes may override it).
    public var pollIntervalSeconds: Int = 60
    /// What its changes carry in `changes.properties` (`--properties`).
    public var itemProperties: PropertyProfile = .default
    /// How far its mailboxes' calendar folders are watched (`--calendar-window`).
    public var calendarWindow: CalendarWindowSetting = .default

    /// Poll intervals `tenant add|update` and `mailbox add` accept, in seconds (the schema's CHECK).
    public static let pollIntervalRange = 10...86_400

    /// The scope of an oauth2 tenant that names none: Exchange Online's EWS.
    public static let defaultOAuthScope = "https://outlook.office365.com/.default"

    public init(
        name: String, ewsURL: String, autodiscoverURL: String? = nil, authKind: AuthKind, identity: String,
        tokenURL: String? = nil, scope: String? = nil, impersonation: Bool = true,
        throttling: ThrottlingPolicy = ThrottlingPolicy(), caBundle: String? = nil, insecureTLS: Bool = false,
        allowPlainHTTP: Bool = false, syncMode: SyncMode = .notify, pollIntervalSeconds: Int = 60,
        itemProperties: PropertyProfile = .default, calendarWindow: CalendarWindowSetting = .default
    ) {
        self.calendarWindow = calendarWindow
        self.name = name
        self.ewsURL = ewsURL
        self.autodiscoverURL = autodiscoverURL
        self.authKind = authKind
        self.identity = identity
        self.tokenURL = tokenURL
        self.scope = scope
        self.impersonation = impersonation
        self.throttling = throttling
        self.caBundle = caBundle
        self.insecureTLS = insecureTLS
        self.allowPlainHTTP = allowPlainHTTP
        self.syncMode = syncMode
        self.pollIntervalSeconds = pollIntervalSeconds
        self.itemProperties = itemProperties
    }
}
