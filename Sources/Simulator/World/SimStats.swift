/// Counters behind GET /_sim/stats.
struct SimStats {
    /// operation → HTTP status → count
    var requests: [String: [Int: Int]] = [:]
    var delivered = 0
    var eventsPublished = 0
    var heartbeats = 0
    var queueOverflows = 0
    var subscriptionsCreated = 0
    var subscriptionsExpired = 0
    var streamsOpened = 0
    var openHTTPConnections = 0
    var restarts = 0
    /// smtp → operation → EWS requests that named the mailbox (see `SimStatsSnapshot`).
    var requestsByMailbox: [String: [String: Int]] = [:]
    /// tenant → operation → requests to the tenant's endpoints.
    var requestsByTenant: [String: [String: Int]] = [:]
    /// identity key → GetStreamingEvents requests.
    var streamOpensByIdentity: [String: Int] = [:]
}

/// A snapshot of the counters, as the control API and library callers see them.
public struct SimStatsSnapshot: Sendable, Codable {
    public var requests: [String: [String: Int]]
    public var openConnections: Int
    public var openStreams: Int
    public var subscriptions: Int
    public var delivered: Int
    public var eventsPublished: Int
    public var heartbeats: Int
    public var queueOverflows: Int
    public var subscriptionsCreated: Int
    public var subscriptionsExpired: Int
    public var streamsOpened: Int
    /// Faults injected, by kind.
    public var faultsInjected: [String: Int] = [:]
    /// Requests, streams, subscriptions or sync states a fault acted on, by kind.
    public var faultEffects: [String: Int] = [:]
    /// Throttling answers by policy: MaxConcurrency, HangingConnectionLimit, MaxSubscriptions,
    /// ConcurrentSyncCalls, Budget, BackOffViolation, BackOffInFlight.
    public var throttled: [String: Int] = [:]
    /// Per identity key (every identity that sent an EWS request): requests that arrived during
    /// an advised back-off, more than `SimConfiguration.adviceGrace` after the advice was
    /// completely written. Zero for a well-behaved client.
    public var backoffViolations: [String: Int] = [:]
    /// Per identity key (every identity that sent an EWS request): requests that arrived during
    /// an advised back-off but before the advice was written, or within the grace after it: sent
    /// before the client could know, so no violation.
    public var inFlightAtAdvice: [String: Int] = [:]
    /// `POST /_sim/restart`s so far.
    public var restarts: Int = 0
    /// smtp → operation → count of EWS requests (after authentication, whatever their answer)
    /// that named the mailbox: impersonated it, else named a folder or item of it, else were sent
    /// by its own user. A GetStreamingEvents counts once for every mailbox whose subscription id
    /// it names. Server-side, so a client cannot under-report.
    public var requestsByMailbox: [String: [String: Int]] = [:]
    /// tenant → operation (the `requests` labels, e.g. `Unauthorized`, `GetUserSettings`) → count.
    public var requestsByTenant: [String: [String: Int]] = [:]
    /// identity key → GetStreamingEvents requests it sent.
    public var streamOpensByIdentity: [String: Int] = [:]

    enum CodingKeys: String, CodingKey {
        case requests, openConnections = "open_connections", openStreams = "open_streams", subscriptions
        case delivered, eventsPublished = "events_published", heartbeats, queueOverflows = "queue_overflows"
        case subscriptionsCreated = "subscriptions_created", subscriptionsExpired = "subscriptions_expired"
        case streamsOpened = "streams_opened"
        case faultsInjected = "faults_injected", faultEffects = "fault_effects", throttled
        case backoffViolations = "backoff_violations", inFlightAtAdvice = "in_flight_at_advice"
        case restarts, requestsByMailbox = "requests_by_mailbox", requestsByTenant = "requests_by_tenant"
        case streamOpensByIdentity = "stream_opens_by_identity"
    }

    /// Requests seen for one operation with one status code.
    public func count(_ operation: String, status: Int) -> Int { requests[operation]?[String(status)] ?? 0 }

    /// Requests `identity` sent during an advised back-off.
    public func violations(_ identity: String) -> Int { backoffViolations[identity] ?? 0 }

    /// Requests `identity` sent during an advised back-off before it could have read the advice.
    public func inFlightAtAdvice(_ identity: String) -> Int { inFlightAtAdvice[identity] ?? 0 }

    /// EWS requests that named `mailbox`: of one operation, or of all when `operation` is nil.
    public func requests(mailbox: String, operation: String? = nil) -> Int {
        Self.count(requestsByMailbox[mailbox.lowercased()], operation)
    }

    /// Requests to `tenant`'s endpoints: of one operation, or of all when `operation` is nil.
    public func requests(tenant: String, operation: String? = nil) -> Int {
        Self.count(requestsByTenant[tenant], operation)
    }

    /// GetStreamingEvents requests sent by `identity` (an identity key such as `svc:tenant1`).
    public func streamOpens(identity: String) -> Int { streamOpensByIdentity[identity] ?? 0 }

    private static func count(_ byOperation: [String: Int]?, _ operation: String?) -> Int {
        guard let byOperation else { return 0 }
        if let operation { return byOperation[operation] ?? 0 }
        return byOperation.values.reduce(0, +)
    }
}

extension SimWorld {
    func recordRequest(_ operation: String, status: Int) {
        lock.withLock { stats.requests[operation, default: [:]][status, default: 0] += 1 }
    }

    /// Counts an EWS request for the mailboxes it named (see `SimStatsSnapshot.requestsByMailbox`).
    func countRequest(tenant: Tenant, operation: String, identity: String, mailboxes: [Mailbox]) {
        lock.withLock { countRequestLocked(tenant: tenant, operation: operation, identity: identity, mailboxes: mailboxes) }
    }

    func countRequestLocked(tenant: Tenant, operation: String, identity: String, mailboxes: [Mailbox]) {
        for mailbox in mailboxes { stats.requestsByMailbox[mailbox.smtp.lowercased(), default: [:]][operation, default: 0] += 1 }
        if operation == "GetStreamingEvents" { stats.streamOpensByIdentity[identity, default: 0] += 1 }
    }

    /// Counts a request to one of the tenant's endpoints under its `requests` label.
    func countTenantRequest(_ tenant: Tenant, _ label: String) {
        lock.withLock { stats.requestsByTenant[tenant.name, default: [:]][label, default: 0] += 1 }
    }

    func httpConnectionOpened(_ delta: Int) {
        lock.withLock { stats.openHTTPConnections += delta }
    }

    public func statsSnapshot() -> SimStatsSnapshot {
        sweepExpiredSubscriptions()
        return lock.withLock {
            SimStatsSnapshot(
                requests: stats.requests.mapValues { Dictionary(uniqueKeysWithValues: $0.map { (String($0.key), $0.value) }) },
                openConnections: stats.openHTTPConnections, openStreams: connections.count,
                subscriptions: subscriptions.count, delivered: stats.delivered, eventsPublished: stats.eventsPublished,
                heartbeats: stats.heartbeats, queueOverflows: stats.queueOverflows,
                subscriptionsCreated: stats.subscriptionsCreated, subscriptionsExpired: stats.subscriptionsExpired,
                streamsOpened: stats.streamsOpened, faultsInjected: faultBook.injected, faultEffects: faultBook.effects,
                throttled: throttleBook.throttled, backoffViolations: throttleBook.violations,
                inFlightAtAdvice: throttleBook.inFlightAtAdvice, restarts: stats.restarts,
                requestsByMailbox: stats.requestsByMailbox, requestsByTenant: stats.requestsByTenant,
                streamOpensByIdentity: stats.streamOpensByIdentity)
        }
    }
}
