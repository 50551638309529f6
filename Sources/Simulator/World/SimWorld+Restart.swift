/// A server restart as clients see it (`POST /_sim/restart`). Mailbox content, sync states,
/// tokens and rights survive; subscriptions live in server memory and do not.
extension SimWorld {
    public struct RestartResult: Sendable, Equatable, Codable {
        public var subscriptionsDropped: Int
        public var streamsEnded: Int

        enum CodingKeys: String, CodingKey {
            case subscriptionsDropped = "subscriptions_dropped", streamsEnded = "streams_ended"
        }
    }

    /// Restarts one tenant's servers (or every tenant's): every open GetStreamingEvents socket
    /// closes without Closed, every subscription and its queue is gone, and a gromox tenant's
    /// subscription counter starts again from 1, so the ids clients still hold name the next new
    /// subscriptions. Exchange ids stay unique: old ones now answer ErrorSubscriptionNotFound.
    @discardableResult
    public func restart(tenant name: String? = nil) throws(SimError) -> RestartResult {
        try locked { () throws(SimError) -> RestartResult in
            let targets: [Tenant]
            if let name {
                guard let tenant = tenantByName[name] else { throw SimError(.unknownTenant, "no tenant \(name)") }
                targets = [tenant]
            } else {
                targets = tenants
            }
            let restarted = Set(targets.map(\.index))
            let streams = connections.values.filter { restarted.contains($0.tenantIndex) }
            for connection in streams {
                release(connection.state.peerClosed(), from: connection)
                connection.sink.abort()
            }
            let dropped = subscriptions.values.filter { restarted.contains($0.key.tenant) }
            for subscription in dropped {
                subscription.connection = nil
                removeSubscription(subscription)
            }
            // A restarted server has no memory of what a failover fault removed either.
            faultBook.vanished = faultBook.vanished.filter { !restarted.contains($0.key.tenant) }
            for tenant in targets { tenant.subscriptionCounter = 0 }
            stats.restarts += 1
            return RestartResult(subscriptionsDropped: dropped.count, streamsEnded: streams.count)
        }
    }
}
