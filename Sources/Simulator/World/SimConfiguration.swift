/// Everything that shapes a simulated world and its server. Defaults follow the fact sheet.
public struct SimConfiguration: Sendable {
    public var tenants: Int = 2
    public var mailboxesPerTenant: Int = 5
    public var itemsPerMailbox: Int = 10
    public var serversPerTenant: Int = 3
    public var userFoldersPerMailbox: Int = 2
    /// When set, every mailbox gets a search folder of this name under `searchfolders`: the
    /// unread items of its inbox (as Outlook's "Unread Mail" is).
    public var unreadSearchFolder: String? = nil
    public var seed: UInt64 = 1
    /// Interval of OK heartbeats on streaming connections.
    public var heartbeat: Duration = .seconds(45)
    /// Lifetime of a subscription without a connection.
    public var subscriptionTTL: Duration = .seconds(1800)
    /// Lifetime of issued OAuth2 tokens.
    public var tokenLifetime: Duration = .seconds(3599)
    public var queueLimit: Int = 500
    public var maxEventsPerEnvelope: Int = 100
    public var maxIdsPerConnection: Int = 200
    /// Directory holding soap11-envelope.xsd (+ imports); nil disables schema validation.
    public var schemaDirectory: String?
    /// Directory where every request body is saved; nil disables recording.
    public var recordDirectory: String?
    public var host: String = "127.0.0.1"
    public var port: Int = 0
    /// The dialect every tenant starts with (`POST /_sim/tenants` changes one tenant's at run time).
    public var dialect: SimDialect = .exchange
    /// gromox writes compact XML unless its `ews_pretty_response` is set; this turns on that
    /// pretty-printed form (newlines, four-space indentation) for gromox tenants.
    public var gromoxPrettyPrint: Bool = false
    /// Lifetime of a gromox tenant's subscription without a connection (gromox's
    /// `ews_streaming_subscription_timeout`, 5 minutes; whole minutes appear in its ids).
    public var gromoxSubscriptionTTL: Duration = .seconds(300)
    /// Keep an item's ChangeKey when only its read state changes. Exchange gives a new one; a
    /// server may not, and exactly-once must not depend on it.
    public var keepChangeKeyOnReadChange: Bool = false
    /// Split envelopes across chunks and merge several into one chunk at random (seeded).
    public var randomChunking: Bool = true
    /// Per-folder tombstone cap; older sync states become invalid once their tombstones are pruned.
    public var tombstoneLimit: Int = 2000
    /// Per-mailbox ledger cap (oldest entries dropped first).
    public var ledgerLimit: Int = 20000

    /// The first N tenants require NTLM (NTLMv2, connection-bound, as IIS does) instead of Basic.
    public var ntlmTenants: Int = 0
    /// Serve HTTPS with a CA and server certificate generated at start (see `SimTLS`).
    public var tls: Bool = false
    /// Where `tls` writes the CA certificate (PEM); nil means a fresh temp directory.
    public var tlsCAPath: String?

    // Throttling (§8.1 defaults). Each limit ≤ 0 disables it.
    /// EWSMaxConcurrency: concurrent non-streaming requests per identity → ErrorExceededConnectionCount.
    public var maxConcurrency: Int = 27
    /// HangingConnectionLimit: open GetStreamingEvents per streaming budget (the impersonated
    /// mailbox's, else the identity's) → ErrorExceededConnectionCount.
    public var maxHangingConnections: Int = 10
    /// EWSMaxSubscriptions: live subscriptions per target mailbox → ErrorExceededSubscriptionCount.
    public var maxSubscriptionsPerMailbox: Int = 20
    /// ConcurrentSyncCalls: SyncFolderItems/Hierarchy in flight per mailbox → ErrorServerBusy (5000 ms).
    public var maxConcurrentSyncCalls: Int = 5
    /// Recharging budget per identity: requests it may burst; nil (the default) turns the budget off
    /// so that normal test traffic is never throttled by it.
    public var budgetBurst: Double?
    /// Requests per second the budget recharges by.
    public var budgetRechargePerSecond: Double = 10
    /// A request inside an advised back-off is a violation only if its head arrived more than this
    /// after the advice was completely written; earlier ones were already on their way (network
    /// and client latency) and count as `in_flight_at_advice`.
    public var adviceGrace: Duration = .milliseconds(50)

    public init() {}
}
