/// What one GetStreamingEvents connection has to say next. A plain state machine: the world feeds
/// it facts (attached, events, detached, heartbeat due, timed out, peer gone) and drains its outbox
/// into envelopes; it never does I/O itself. In gromox mode it says what gromox says instead
/// (see `StreamConnectionState+Gromox.swift`).
struct StreamConnectionState {
    enum Envelope: Equatable {
        case heartbeat
        case closed
        case events(subscriptionId: String, events: [SimEvent])
        case error(code: String, message: String, subscriptionIds: [String])
        /// Success with empty Notifications and ErrorSubscriptionIds, as gromox writes every
        /// message (the `end_streams` fault's `empty_lists` form).
        case emptyLists
        /// gromox: the first message refuses these ids and says Closed, yet the stream goes on.
        case refusal(code: String, message: String, subscriptionIds: [String])
        /// gromox: a wake-up with nothing new; each of these subscriptions gets a StatusEvent.
        case tick(subscriptionIds: [String])
    }

    /// `lingering`: gromox refused every id; the stream stays open until the next heartbeat tick.
    enum Phase: Equatable { case open, lingering, finishing, finished }

    typealias Failure = (code: String, message: String, ids: [String])

    let gromox: Bool
    var attached: [String] = []
    var phase: Phase = .open
    var outbox: [Envelope] = []
    /// gromox: ids refused at open, reported again in the next message.
    var repeatedErrors: [Failure] = []
    /// True while a flush has been requested and not yet drained (avoids scheduling storms).
    private var flushPending = false

    init(gromox: Bool = false) {
        self.gromox = gromox
    }

    /// Starts the stream. With nothing attached the stream is only errors then Closed (no heartbeat).
    /// Returns whether a flush must be scheduled.
    mutating func start(attached ids: [String], errors: [Failure]) -> Bool {
        if gromox { return startGromox(attached: ids, errors: errors) }
        attached = ids
        if !ids.isEmpty { outbox.append(.heartbeat) }
        for error in errors { outbox.append(.error(code: error.code, message: error.message, subscriptionIds: error.ids)) }
        if ids.isEmpty {
            outbox.append(.closed)
            phase = .finishing
        }
        return requestFlush()
    }

    mutating func events(_ subscriptionId: String, _ events: [SimEvent]) -> Bool {
        guard phase == .open, !events.isEmpty else { return false }
        repeatErrors()
        outbox.append(.events(subscriptionId: subscriptionId, events: events))
        return requestFlush()
    }

    /// A non-fatal per-subscription error (ErrorMissedNotificationEvents): the id stays attached.
    mutating func warn(_ subscriptionId: String, code: String, message: String) -> Bool {
        guard phase == .open else { return false }
        outbox.append(.error(code: code, message: message, subscriptionIds: [subscriptionId]))
        return requestFlush()
    }

    /// The id leaves this connection with `code`; when none are left, Closed ends the stream.
    /// gromox knows one code for every way a subscription goes: ErrorInvalidSubscription.
    mutating func detach(_ subscriptionId: String, code: String, message: String) -> Bool {
        guard phase == .open, let index = attached.firstIndex(of: subscriptionId) else { return false }
        attached.remove(at: index)
        repeatErrors()
        outbox.append(gromox
            ? .error(code: "ErrorInvalidSubscription", message: GromoxErrors.invalidSubscription, subscriptionIds: [subscriptionId])
            : .error(code: code, message: message, subscriptionIds: [subscriptionId]))
        if attached.isEmpty {
            outbox.append(.closed)
            phase = .finishing
        }
        return requestFlush()
    }

    mutating func heartbeat() -> Bool {
        if gromox { return heartbeatGromox() }
        guard phase == .open else { return false }
        outbox.append(.heartbeat)
        return requestFlush()
    }

    /// ConnectionTimeout reached (or shutdown): Closed, then the body ends. Returns the ids released.
    mutating func timeout() -> (flush: Bool, released: [String]) {
        guard phase == .open || phase == .lingering else { return (false, []) }
        let released = attached
        attached = []
        if gromox {
            // gromox notices expiry at a wake-up: that message says Closed, then a goodbye follows.
            repeatErrors()
            if phase == .open { outbox.append(.tick(subscriptionIds: released)) }
        }
        outbox.append(.closed)
        phase = .finishing
        return (requestFlush(), released)
    }

    /// The connection loses every subscription at once, without errors: gromox's answer to
    /// another connection taking one of them over. Returns the ids released.
    mutating func closeNow() -> (flush: Bool, released: [String]) {
        guard phase == .open || phase == .lingering else { return (false, []) }
        let released = attached
        attached = []
        outbox.append(.closed)
        phase = .finishing
        return (requestFlush(), released)
    }

    /// Fault (`end_streams`): the body ends now, in one of the ways a misbehaving server ends it,
    /// and never with an error. Returns the ids released (their subscriptions stay valid).
    mutating func end(_ form: SimFault.StreamEnd) -> (flush: Bool, released: [String]) {
        guard phase == .open else { return (false, []) }
        let released = attached
        attached = []
        switch form {
        case .ok:
            if outbox.last != .heartbeat { outbox.append(.heartbeat) }
        case .closed:
            outbox.removeAll { $0 == .heartbeat }
            outbox.append(.closed)
        case .emptyLists(let count, let thenClosed):
            outbox.removeAll { $0 == .heartbeat }
            outbox += Array(repeating: .emptyLists, count: max(1, count))
            if thenClosed { outbox.append(.closed) }
        }
        phase = .finishing
        return (requestFlush(), released)
    }

    /// The peer went away: nothing more is written. Returns the ids released.
    mutating func peerClosed() -> [String] {
        let released = attached
        attached = []
        outbox = []
        phase = .finished
        return released
    }

    /// Takes everything queued. `finish` tells the writer to end the body after these envelopes.
    mutating func drain() -> (envelopes: [Envelope], finish: Bool) {
        flushPending = false
        let envelopes = outbox
        outbox = []
        if phase == .finishing {
            phase = .finished
            return (envelopes, true)
        }
        return (envelopes, false)
    }

    mutating func requestFlush() -> Bool {
        if flushPending { return false }
        flushPending = true
        return true
    }
}

extension SimEvent: Equatable {
    static func == (lhs: SimEvent, rhs: SimEvent) -> Bool {
        lhs.kind == rhs.kind && lhs.id == rhs.id && lhs.changeKey == rhs.changeKey && lhs.time == rhs.time
    }
}
