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
    /// ConcurrentSyncCalls, Budget, BackOffViolation.
    public var throttled: [String: Int] = [:]
    /// Per identity key (every identity that sent an EWS request): requests that arrived during
    /// an advised back-off. Zero for a well-behaved client.
    public var backoffViolations: [String: Int] = [:]

    enum CodingKeys: String, CodingKey {
        case requests, openConnections = "open_connections", openStreams = "open_streams", subscriptions
        case delivered, eventsPublished = "events_published", heartbeats, queueOverflows = "queue_overflows"
        case subscriptionsCreated = "subscriptions_created", subscriptionsExpired = "subscriptions_expired"
        case streamsOpened = "streams_opened"
        case faultsInjected = "faults_injected", faultEffects = "fault_effects", throttled
        case backoffViolations = "backoff_violations"
    }

    /// Requests seen for one operation with one status code.
    public func count(_ operation: String, status: Int) -> Int { requests[operation]?[String(status)] ?? 0 }

    /// Requests `identity` sent during an advised back-off.
    public func violations(_ identity: String) -> Int { backoffViolations[identity] ?? 0 }
}

extension SimWorld {
    func recordRequest(_ operation: String, status: Int) {
        lock.withLock { stats.requests[operation, default: [:]][status, default: 0] += 1 }
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
                throttled: throttleBook.throttled, backoffViolations: throttleBook.violations)
        }
    }
}
