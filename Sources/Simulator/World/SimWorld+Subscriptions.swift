/// Streaming subscriptions: creation, lifetime, queueing while detached, and attaching to
/// connections (one at a time). Everything here runs with the lock held unless marked public.
extension SimWorld {
    struct StreamOpenError { var code: String; var message: String; var ids: [String] }

    static let messages: [String: String] = [
        "ErrorSubscriptionNotFound": "The specified subscription was not found.",
        "ErrorInvalidSubscription": "Subscription is invalid.",
        "ErrorProxyRequestNotAllowed": "The request can't be proxied because the subscription is located on a different server.",
        "ErrorSubscriptionAccessDenied": "You don't have permission to access this subscription.",
        "ErrorNewEventStreamConnectionOpened": "A new event stream connection has been opened for this subscription.",
        "ErrorMissedNotificationEvents": "Notification events were missed because the event queue overflowed.",
        "ErrorSubscriptionUnsubscribed": "The subscription has been unsubscribed.",
    ]

    func createSubscription(_ mailbox: Mailbox, owner: String, allFolders: Bool, folders: Set<UInt32>,
                            eventTypes: Set<SimEvent.Kind>) -> String {
        sweepSubscriptions(mailbox)
        let now = clock.now()
        let ticks = UInt64(max(0, clock.date().timeIntervalSince1970)) &* 10_000_000 &+ 621_355_968_000_000_000
        let id = SimIds.subscriptionId(server: serverName(mailbox), random: &random, ticks: ticks)
        let subscription = Subscription(id: id, mailbox: mailbox, owner: owner, allFolders: allFolders, folders: folders,
                                        eventTypes: eventTypes, expiresAt: now + configuration.subscriptionTTL)
        subscriptions[id] = subscription
        mailbox.subscriptionIds.append(id)
        stats.subscriptionsCreated += 1
        return id
    }

    /// A live (not expired) subscription, dropping it if its TTL has passed without a connection.
    func liveSubscription(_ id: String) -> Subscription? {
        guard let subscription = subscriptions[id] else { return nil }
        if subscription.connection == nil && clock.now() >= subscription.expiresAt {
            removeSubscription(subscription)
            stats.subscriptionsExpired += 1
            return nil
        }
        return subscription
    }

    func removeSubscription(_ subscription: Subscription) {
        subscriptions[subscription.id] = nil
        subscription.mailbox.subscriptionIds.removeAll { $0 == subscription.id }
    }

    func sweepSubscriptions(_ mailbox: Mailbox) {
        for id in mailbox.subscriptionIds { _ = liveSubscription(id) }
    }

    /// Drops every expired subscription (called from stats and periodically by the server).
    public func sweepExpiredSubscriptions() {
        lock.withLock { for id in Array(subscriptions.keys) { _ = liveSubscription(id) } }
    }

    /// Unsubscribe: the owner's own subscription, reached on the right server; else not found.
    func unsubscribe(_ id: String, owner: String) -> String? {
        guard let subscription = liveSubscription(id), subscription.owner == owner else {
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
        for id in mailbox.subscriptionIds {
            guard let subscription = liveSubscription(id) else { continue }
            let matching = events.filter { subscription.matches($0) }
            guard !matching.isEmpty else { continue }
            stats.eventsPublished += matching.count
            if let connection = subscription.connection {
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

    /// Opens a stream on `serverIndex` of `tenant` for `ids`; per-id failures become error envelopes.
    func openStream(tenant: Tenant, serverIndex: Int, owner: String, budget: String, ids: [String], timeout: Duration,
                    sink: any StreamSink) -> StreamConnection {
        let connection = StreamConnection(
            id: nextConnectionId, tenantIndex: tenant.index, serverIndex: serverIndex, owner: owner, budget: budget,
            startedAt: clock.now(), timeout: timeout, sink: sink)
        nextConnectionId += 1
        var errors: [String: [String]] = [:]
        var errorOrder: [String] = []
        func fail(_ code: String, _ id: String) {
            if errors[code] == nil { errorOrder.append(code) }
            errors[code, default: []].append(id)
        }
        var accepted: [Subscription] = []
        let serverName = tenant.servers[serverIndex]
        for id in ids where !accepted.contains(where: { $0.id == id }) {
            guard let embedded = SimIds.subscriptionServer(id) else { fail("ErrorInvalidSubscription", id); continue }
            guard embedded == serverName else {
                // Held elsewhere (or nowhere): this server cannot proxy a streaming subscription.
                if let other = subscriptions[id], other.mailbox.tenantIndex == tenant.index {
                    fail("ErrorProxyRequestNotAllowed", id)
                } else {
                    fail(faultBook.vanished[id] ?? "ErrorSubscriptionNotFound", id)
                }
                continue
            }
            guard let subscription = liveSubscription(id) else { fail(faultBook.vanished[id] ?? "ErrorSubscriptionNotFound", id); continue }
            guard subscription.owner == owner else { fail("ErrorSubscriptionAccessDenied", id); continue }
            accepted.append(subscription)
        }
        for subscription in accepted {
            if let previous = subscription.connection {
                if previous.state.detach(subscription.id, code: "ErrorNewEventStreamConnectionOpened",
                                         message: Self.messages["ErrorNewEventStreamConnectionOpened"]!) {
                    previous.sink.scheduleFlush()
                }
                releaseIfDone(previous)
            }
            subscription.connection = connection
        }
        let errorList = errorOrder.map { (code: $0, message: Self.messages[$0] ?? $0, ids: errors[$0]!) }
        if connection.state.start(attached: accepted.map(\.id), errors: errorList) { sink.scheduleFlush() }
        if !accepted.isEmpty { connections[connection.id] = connection }
        stats.streamsOpened += 1
        // Deliver what queued up while detached.
        for subscription in accepted {
            if subscription.missedEvents {
                subscription.missedEvents = false
                if connection.state.warn(subscription.id, code: "ErrorMissedNotificationEvents",
                                         message: Self.messages["ErrorMissedNotificationEvents"]!) {
                    sink.scheduleFlush()
                }
            }
            if !subscription.queue.isEmpty {
                let queued = subscription.queue
                subscription.queue = []
                if connection.state.events(subscription.id, queued) { sink.scheduleFlush() }
            }
        }
        return connection
    }

    /// Forgets a connection that has nothing attached any more.
    func releaseIfDone(_ connection: StreamConnection) {
        if connection.state.attached.isEmpty { connections[connection.id] = nil }
    }

    /// Detached subscriptions start their TTL now.
    func release(_ ids: [String], from connection: StreamConnection) {
        let expiry = clock.now() + configuration.subscriptionTTL
        for id in ids {
            guard let subscription = subscriptions[id], subscription.connection === connection else { continue }
            subscription.connection = nil
            subscription.expiresAt = expiry
        }
        connections[connection.id] = nil
    }
}
