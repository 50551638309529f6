/// The streaming connection lifecycle as seen by the server's connection driver.
extension SimWorld {
    /// Time for a heartbeat. Returns false once the connection is over.
    func streamHeartbeat(_ connection: StreamConnection) -> Bool {
        lock.withLock {
            guard connection.state.phase == .open || connection.state.phase == .lingering else { return false }
            if connection.dialect == .gromox {
                connection.lastMessageAt = clock.now()
                wakeQueued(connection)
            }
            if connection.state.heartbeat() { connection.sink.scheduleFlush() }
            stats.heartbeats += 1
            return true
        }
    }

    /// ConnectionTimeout elapsed: Closed, then the body ends; the subscriptions start their TTL.
    func streamTimedOut(_ connection: StreamConnection) {
        lock.withLock {
            let (flush, released) = connection.state.timeout()
            release(released, from: connection)
            if flush { connection.sink.scheduleFlush() }
        }
    }

    /// The client went away (or the server closed the channel).
    func streamPeerClosed(_ connection: StreamConnection) {
        lock.withLock {
            let released = connection.state.peerClosed()
            release(released, from: connection)
        }
    }

    /// Renders everything queued on the connection. `finish` = end the body afterwards.
    func drainStream(_ connection: StreamConnection, envelopePerSubscription: Bool = false) -> (envelopes: [String], finish: Bool) {
        let (envelopes, finish, first, attached) = lock.withLock {
            let (envelopes, finish) = connection.state.drain()
            if !envelopes.isEmpty { connection.lastMessageAt = max(connection.lastMessageAt, clock.now()) }
            let first = connection.envelopesRendered == 0
            connection.envelopesRendered += envelopes.count
            return (envelopes, finish, first, connection.state.attached)
        }
        switch connection.dialect {
        case .exchange:
            return (StreamEnvelopeRenderer.render(envelopes, maxEvents: configuration.maxEventsPerEnvelope,
                                                  envelopePerSubscription: envelopePerSubscription), finish)
        case .gromox:
            return (GromoxStreamRenderer.render(envelopes, attached: attached, declarationFirst: first,
                                                pretty: configuration.gromoxPrettyPrint), finish)
        }
    }
}

extension SimWorld {
    /// When the connection last wrote: gromox's heartbeat timer counts from it.
    func lastMessage(_ connection: StreamConnection) -> Duration {
        lock.withLock { connection.lastMessageAt }
    }

    /// gromox hands a connection what its subscriptions queued while detached only when it
    /// wakes up (a new event or a tick), never with the opening message (lock held).
    func wakeQueued(_ connection: StreamConnection) {
        for id in connection.state.attached {
            guard let subscription = subscriptions[Subscription.Key(tenant: connection.tenantIndex, id: id)],
                  !subscription.queue.isEmpty else { continue }
            let queued = subscription.queue
            subscription.queue = []
            if connection.state.events(id, queued) { connection.sink.scheduleFlush() }
        }
    }

    /// Shutdown: every open stream gets Closed and ends; its subscriptions start their TTL.
    public func closeAllStreams() {
        lock.withLock {
            for connection in Array(connections.values) {
                let (flush, released) = connection.state.timeout()
                release(released, from: connection)
                if flush { connection.sink.scheduleFlush() }
            }
        }
    }
}
