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
    let owner: String
    /// The streaming budget it is charged to (`EWSContext.chargedBudget`).
    let budget: String
    let startedAt: Duration
    let timeout: Duration
    var state = StreamConnectionState()
    let sink: any StreamSink

    init(id: Int, tenantIndex: Int, serverIndex: Int, owner: String, budget: String, startedAt: Duration,
         timeout: Duration, sink: any StreamSink) {
        self.id = id
        self.tenantIndex = tenantIndex
        self.serverIndex = serverIndex
        self.owner = owner
        self.budget = budget
        self.startedAt = startedAt
        self.timeout = timeout
        self.sink = sink
    }
}
