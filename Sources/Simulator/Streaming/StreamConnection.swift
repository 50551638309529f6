/// Receives rendered stream chunks on its own event loop; implemented by the HTTP handler.
protocol StreamSink: AnyObject, Sendable {
    /// Ask the sink to call `SimWorld.drainStream` soon (on its event loop).
    func scheduleFlush()
    /// Fault: write nothing more (no events, heartbeats or Closed) until the peer goes.
    func stall()
    /// Fault: close the socket at once, without Closed or the final chunk.
    func abort()
}

/// One open GetStreamingEvents connection. All mutable state is guarded by the world's lock.
// Safe to share: every mutable field is only touched with SimWorld.lock held.
final class StreamConnection: @unchecked Sendable {
    let id: Int
    let tenantIndex: Int
    let serverIndex: Int
    /// The ownership key its subscriptions must carry (see `Subscription.owner`).
    let owner: String
    /// The calling identity's key (identity-scoped faults match on this).
    let identity: String
    /// The streaming budget it is charged to (`EWSContext.chargedBudget`).
    let budget: String
    /// Fixed at open: a dialect change of the tenant applies to the next connection.
    let dialect: SimDialect
    let startedAt: Duration
    let timeout: Duration
    var state: StreamConnectionState
    /// Envelopes rendered so far (gromox writes an XML declaration on the first one only).
    var envelopesRendered = 0
    /// When it last wrote (or decided to write) a message: gromox's next tick is an interval later.
    var lastMessageAt: Duration
    let sink: any StreamSink

    init(id: Int, tenantIndex: Int, serverIndex: Int, owner: String, identity: String, budget: String,
         dialect: SimDialect, startedAt: Duration, timeout: Duration, sink: any StreamSink) {
        self.id = id
        self.tenantIndex = tenantIndex
        self.serverIndex = serverIndex
        self.owner = owner
        self.identity = identity
        self.budget = budget
        self.dialect = dialect
        self.startedAt = startedAt
        self.lastMessageAt = startedAt
        self.timeout = timeout
        self.sink = sink
        self.state = StreamConnectionState(gromox: dialect == .gromox)
    }
}
