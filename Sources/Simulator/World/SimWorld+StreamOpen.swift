/// Attaching subscriptions to a new GetStreamingEvents connection (lock held). Per-id failures
/// become error envelopes; what counts as a failure depends on the tenant's dialect.
extension SimWorld {
    struct StreamRequest {
        var tenant: Tenant
        var serverIndex: Int
        var owner: String
        var identity: String
        var budget: String
        var ids: [String]
        var timeout: Duration
    }

    func openStream(_ request: StreamRequest, sink: any StreamSink) -> StreamConnection {
        let tenant = request.tenant
        let connection = StreamConnection(
            id: nextConnectionId, tenantIndex: tenant.index, serverIndex: request.serverIndex, owner: request.owner,
            identity: request.identity, budget: request.budget, dialect: tenant.dialect, startedAt: clock.now(),
            timeout: request.timeout, sink: sink)
        nextConnectionId += 1
        stats.streamsOpened += 1
        var failures = StreamFailures()
        var accepted: [Subscription] = []
        if let refusal = refusingFault(tenant, identity: request.identity, ids: request.ids) {
            // A server that refuses every id it is given, however valid.
            for id in request.ids { failures.add(refusal, id) }
            faultBook.effect(.refuseSubscriptions)
        } else {
            for id in request.ids where !accepted.contains(where: { $0.id == id }) {
                let outcome = tenant.dialect == .gromox
                    ? gromoxLookup(id, tenant: tenant, owner: request.owner)
                    : exchangeLookup(id, tenant: tenant, serverIndex: request.serverIndex, owner: request.owner)
                switch outcome {
                case .success(let subscription): accepted.append(subscription)
                case .failure(let failure): failures.add(failure.code, id)
                }
            }
        }
        for subscription in accepted { take(subscription, for: connection) }
        if connection.state.start(attached: accepted.map(\.id), errors: failures.list) { sink.scheduleFlush() }
        // A gromox stream that refused every id stays open until its next tick, like any other.
        if !accepted.isEmpty || connection.state.phase == .lingering { connections[connection.id] = connection }
        if !accepted.isEmpty, let form = endingFault(connection) {
            // end_streams: the stream ends right after it opened; queued events stay queued.
            let (flush, released) = connection.state.end(form)
            release(released, from: connection)
            if flush { sink.scheduleFlush() }
            faultBook.effect(.endStreams)
            return connection
        }
        // gromox keeps what queued up until the first wake-up (see `wakeQueued`).
        if tenant.dialect == .exchange { deliverQueued(accepted, to: connection) }
        return connection
    }

    /// Exchange: the id must name this server, exist, and belong to the caller.
    private func exchangeLookup(_ id: String, tenant: Tenant, serverIndex: Int, owner: String)
        -> Result<Subscription, StreamFailure> {
        guard let embedded = SimIds.subscriptionServer(id) else { return .failure("ErrorInvalidSubscription") }
        let key = Subscription.Key(tenant: tenant.index, id: id)
        guard embedded == tenant.servers[serverIndex] else {
            // Held elsewhere (or nowhere): this server cannot proxy a streaming subscription.
            if subscriptions[key] != nil { return .failure("ErrorProxyRequestNotAllowed") }
            return .failure(StreamFailure(faultBook.vanished[key] ?? "ErrorSubscriptionNotFound"))
        }
        guard let subscription = liveSubscription(id, tenant: tenant.index) else {
            return .failure(StreamFailure(faultBook.vanished[key] ?? "ErrorSubscriptionNotFound"))
        }
        guard subscription.owner == owner else { return .failure("ErrorSubscriptionAccessDenied") }
        return .success(subscription)
    }

    /// gromox: one server, ids are counters, and the only check is that the effective user owns
    /// the subscription the counter names now (after a restart that may be a newer one).
    private func gromoxLookup(_ id: String, tenant: Tenant, owner: String) -> Result<Subscription, StreamFailure> {
        guard let subscription = liveSubscription(gromoxKey(id), tenant: tenant.index),
              subscription.owner == owner else { return .failure("ErrorInvalidSubscription") }
        return .success(subscription)
    }

    /// Moves a subscription onto `connection`, telling its previous connection: Exchange with
    /// ErrorNewEventStreamConnectionOpened for that id; gromox by closing the previous connection
    /// outright (its other subscriptions stay valid, detached).
    private func take(_ subscription: Subscription, for connection: StreamConnection) {
        if let previous = subscription.connection, previous.dialect == .gromox {
            let (flush, released) = previous.state.closeNow()
            release(released, from: previous)
            if flush { previous.sink.scheduleFlush() }
        } else if let previous = subscription.connection {
            if previous.state.detach(subscription.id, code: "ErrorNewEventStreamConnectionOpened",
                                     message: Self.messages["ErrorNewEventStreamConnectionOpened"]!) {
                previous.sink.scheduleFlush()
            }
            releaseIfDone(previous)
        }
        subscription.connection = connection
    }

    /// Delivers what queued up while the subscriptions were detached.
    private func deliverQueued(_ accepted: [Subscription], to connection: StreamConnection) {
        for subscription in accepted {
            if subscription.missedEvents {
                subscription.missedEvents = false
                if connection.state.warn(subscription.id, code: "ErrorMissedNotificationEvents",
                                         message: Self.messages["ErrorMissedNotificationEvents"]!) {
                    connection.sink.scheduleFlush()
                }
            }
            if !subscription.queue.isEmpty {
                let queued = subscription.queue
                subscription.queue = []
                if connection.state.events(subscription.id, queued) { connection.sink.scheduleFlush() }
            }
        }
    }
}
