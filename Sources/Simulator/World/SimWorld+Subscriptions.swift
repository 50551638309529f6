/// Streaming subscriptions: creation, lifetime, queueing while detached, and publishing events.
/// Attaching them to connections is `SimWorld+StreamOpen.swift`. Everything here runs with the
/// lock held unless marked public.
extension SimWorld {
    static let messages: [String: String] = [
        "ErrorSubscriptionNotFound": "The specified subscription was not found.",
        "ErrorInvalidSubscription": "Subscription is invalid.",
        "ErrorProxyRequestNotAllowed": "The request can't be proxied because the subscription is located on a different server.",
        "ErrorSubscriptionAccessDenied": "You don't have permission to access this subscription.",
        "ErrorNewEventStreamConnectionOpened": "A new event stream connection has been opened for this subscription.",
        "ErrorMissedNotificationEvents": "Notification events were missed because the event queue overflowed.",
        "ErrorSubscriptionUnsubscribed": "The subscription has been unsubscribed.",
        "ErrorExpiredSubscription": "The subscription has expired.",
    ]

    /// Creates a subscription owned by `owner` (see `Subscription.owner`) and returns its id:
    /// Exchange's names the mailbox server; gromox's is the tenant's next counter value.
    func createSubscription(_ mailbox: Mailbox, owner: String, identity: String, allFolders: Bool,
                            folders: Set<UInt32>, eventTypes: Set<SimEvent.Kind>, deaf: Bool = false) -> String {
        sweepSubscriptions(mailbox)
        let now = clock.now()
        let tenant = tenants[mailbox.tenantIndex]
        let id: String
        switch tenant.dialect {
        case .exchange:
            let ticks = UInt64(max(0, clock.date().timeIntervalSince1970)) &* 10_000_000 &+ 621_355_968_000_000_000
            id = SimIds.subscriptionId(server: serverName(mailbox), random: &random, ticks: ticks)
        case .gromox:
            tenant.subscriptionCounter += 1
            id = GromoxIds.subscriptionId(tenant.subscriptionCounter, timeoutMinutes: GromoxIds.minutes(configuration.gromoxSubscriptionTTL))
        }
        let subscription = Subscription(
            id: id, mailbox: mailbox, owner: owner, identity: identity, allFolders: allFolders, folders: folders,
            eventTypes: eventTypes, deaf: deaf, expiresAt: now + subscriptionTTL(tenant))
        subscriptions[subscription.key] = subscription
        mailbox.subscriptionIds.append(id)
        stats.subscriptionsCreated += 1
        return id
    }

    /// The id a gromox subscription is stored under: gromox finds subscriptions by the counter
    /// alone, whatever lifetime the id's second word claims.
    func gromoxKey(_ id: String) -> String {
        GromoxIds.canonical(id, timeoutMinutes: GromoxIds.minutes(configuration.gromoxSubscriptionTTL)) ?? id
    }

    /// A live (not expired) subscription, dropping it if its TTL has passed without a connection.
    func liveSubscription(_ id: String, tenant: Int) -> Subscription? {
        guard let subscription = subscriptions[Subscription.Key(tenant: tenant, id: id)] else { return nil }
        if subscription.connection == nil && clock.now() >= subscription.expiresAt {
            removeSubscription(subscription)
            stats.subscriptionsExpired += 1
            return nil
        }
        return subscription
    }

    func removeSubscription(_ subscription: Subscription) {
        subscriptions[subscription.key] = nil
        subscription.mailbox.subscriptionIds.removeAll { $0 == subscription.id }
    }

    func sweepSubscriptions(_ mailbox: Mailbox) {
        for id in mailbox.subscriptionIds { _ = liveSubscription(id, tenant: mailbox.tenantIndex) }
    }

    /// Drops every expired subscription (called from stats and periodically by the server).
    public func sweepExpiredSubscriptions() {
        lock.withLock { for key in Array(subscriptions.keys) { _ = liveSubscription(key.id, tenant: key.tenant) } }
    }

    /// Unsubscribe: the owner's own subscription, reached on the right server; else not found.
    func unsubscribe(_ id: String, tenant: Int, owner: String) -> String? {
        guard let subscription = liveSubscription(id, tenant: tenant), subscription.owner == owner else {
            return "ErrorSubscriptionNotFound"
        }
        if let connection = subscription.connection {
            if connection.state.detach(id, code: "ErrorSubscriptionUnsubscribed",
                                       message: Self.messages["ErrorSubscriptionUnsubscribed"]!) {
                connection.sink.scheduleFlush()
            }
            releaseIfDone(connection)
        }
        subscription.connection = nil
        removeSubscription(subscription)
        return nil
    }

    /// Hands events to matching subscriptions: straight to an attached connection, else into the
    /// subscription's queue (cap → queue reset + ErrorMissedNotificationEvents on next attach).
    func publish(_ mailbox: Mailbox, _ events: [SimEvent]) {
        guard !mailbox.subscriptionIds.isEmpty else { return }
        let dialect = tenants[mailbox.tenantIndex].dialect
        for id in mailbox.subscriptionIds {
            guard let subscription = liveSubscription(id, tenant: mailbox.tenantIndex) else { continue }
            let matching = events.filter { subscription.matches($0, dialect: dialect) }
            guard !matching.isEmpty else { continue }
            stats.eventsPublished += matching.count
            if let connection = subscription.connection {
                if connection.dialect == .gromox { wakeQueued(connection) }
                if connection.state.events(id, matching) { connection.sink.scheduleFlush() }
            } else {
                subscription.queue += matching
                if subscription.queue.count > configuration.queueLimit {
                    subscription.queue = []
                    subscription.missedEvents = true
                    stats.queueOverflows += 1
                }
            }
        }
    }

    /// Forgets a connection that has nothing attached any more.
    func releaseIfDone(_ connection: StreamConnection) {
        if connection.state.attached.isEmpty { connections[connection.id] = nil }
    }

    /// How long a subscription lives without a connection: Exchange's 30 minutes, gromox's 5
    /// (`ews_streaming_subscription_timeout`, the second word of its ids), from the last use.
    func subscriptionTTL(_ tenant: Tenant) -> Duration {
        tenant.dialect == .gromox ? configuration.gromoxSubscriptionTTL : configuration.subscriptionTTL
    }

    /// Detached subscriptions start their TTL now.
    func release(_ ids: [String], from connection: StreamConnection) {
        let expiry = clock.now() + subscriptionTTL(tenants[connection.tenantIndex])
        for id in ids {
            guard let subscription = subscriptions[Subscription.Key(tenant: connection.tenantIndex, id: id)],
                  subscription.connection === connection else { continue }
            subscription.connection = nil
            subscription.expiresAt = expiry
        }
        connections[connection.id] = nil
    }
}
