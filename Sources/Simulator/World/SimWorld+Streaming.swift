/// The streaming connection lifecycle as seen by the server's connection driver.
extension SimWorld {
    /// Time for a heartbeat. Returns false once the connection is over.
    func streamHeartbeat(_ connection: StreamConnection) -> Bool {
        lock.withLock {
            guard connection.state.phase == .open || connection.state.phase == .lingering else { return false }
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
