import Support
/// The EWS throttling budget of one tenant identity, shared by all of that tenant's mailbox actors.
/// It mirrors EWS's own limits so ewsfleet slows itself down before the server has to:
///
/// - concurrent non-streaming requests, adapted AIMD-style: ErrorExceededConnectionCount halves the
///   limit, every `limit` successes add one back, up to the tenant's policy;
/// - a request rate (token bucket);
/// - concurrent sync calls per target mailbox (EWS ConcurrentSyncCalls, 5 in Exchange Online);
/// - pauses after an advised back-off (ErrorServerBusy): for one mailbox's sync calls when the
///   policy part is ConcurrentSyncCalls, else for the budget the call was charged to (one target
///   mailbox with impersonation, the whole identity without);
/// - one GetStreamingEvents open at a time, each taking a request-rate token like any call: when the server drops every connection of the identity
///   (or starts throttling it), the groups reopen one after another, so the first refusal's
///   advised back-off holds the others before they send, instead of them arriving during it.
///
/// Each tenant has its own budget, so one tenant being throttled never slows another.
actor IdentityBudget<C: Clock<Duration>> where C.Instant: Sendable {
    enum Kind: Sendable {
        case normal
        /// SyncFolderItems/Hierarchy: also bound by the mailbox's ConcurrentSyncCalls.
        case sync
        /// Subscribe (and, through `acquireStreamOpen`, stream opens): what makes a mailbox hear.
        /// When the rate is short (every mailbox resubscribing after a server restart) these go
        /// before syncs and item fetches, so mailboxes hear again first and catch up after.
        case listen
    }

    enum PauseScope: Sendable, Hashable {
        case identity
        case mailbox(String)
        case mailboxSync(String)
    }

    enum Outcome: Sendable {
        case success
        /// ErrorExceededConnectionCount: too many in flight.
        case tooManyConcurrent
        /// Any other failure: no change to the limits.
        case other
    }

    struct Permit: Sendable {
        let kind: Kind
        let mailbox: String
    }

    let maxConcurrent: Int
    let rate: Double
    let maxSyncPerMailbox: Int
    private let clock: C
    private(set) var limit: Int
    private(set) var inFlight = 0
    private var syncInFlight: [String: Int] = [:]
    private var successes = 0
    private var tokens: Double
    private var refilledAt: C.Instant
    private var pauses: [PauseScope: C.Instant] = [:]
    private var streamOpening = false
    /// Listening calls (subscribes, stream opens) waiting for a rate token.
    private var listenWaiting = 0
    private var waiters: [(id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextWaiterID = 0

    init(maxConcurrent: Int, rate: Double, maxSyncPerMailbox: Int = 5, clock: C) {
        self.maxConcurrent = max(1, maxConcurrent)
        self.rate = max(0.001, rate)
        self.maxSyncPerMailbox = max(1, maxSyncPerMailbox)
        self.clock = clock
        limit = self.maxConcurrent
        tokens = max(1, self.rate)
        refilledAt = clock.now
    }

    /// Waits until a request of `kind` to `mailbox` fits the budget, then takes its share.
    func acquire(_ kind: Kind, mailbox: String) async throws -> Permit {
        while true {
            try Task.checkCancellation()
            let now = clock.now
            if let until = pauseDeadline(kind, mailbox: mailbox, now: now) {
                try await clock.sleep(until: until, tolerance: nil)
                continue
            }
            refill(now: now)
            if inFlight >= limit || (kind == .sync && syncInFlight[mailbox, default: 0] >= maxSyncPerMailbox) {
                try await waitForRelease()
                continue
            }
            if !hasToken(for: kind) {
                try await waitForToken(kind, now: now)
                continue
            }
            tokens -= 1
            inFlight += 1
            if kind == .sync { syncInFlight[mailbox, default: 0] += 1 }
            return Permit(kind: kind, mailbox: mailbox)
        }
    }

    func release(_ permit: Permit, outcome: Outcome) {
        inFlight -= 1
        if permit.kind == .sync {
            syncInFlight[permit.mailbox, default: 1] -= 1
            if syncInFlight[permit.mailbox] == 0 { syncInFlight[permit.mailbox] = nil }
        }
        switch outcome {
        case .success:
            successes += 1
            if successes >= limit, limit < maxConcurrent {
                limit += 1
                successes = 0
            }
        case .tooManyConcurrent:
            limit = max(1, limit / 2)
            successes = 0
        case .other:
            break
        }
        wakeAll()
    }

    /// Waits until no other stream of the identity is being opened, neither the identity nor the
    /// group's anchor mailbox is paused, and the request rate has a token to spare, then takes the
    /// one opening slot (and the token: a stream open is a request like any other, so no path can
    /// exceed the rate). The caller releases the slot once the open is answered (and any advised
    /// back-off recorded).
    func acquireStreamOpen(anchor: String) async throws {
        while true {
            try Task.checkCancellation()
            let now = clock.now
            if let until = pauseDeadline(.normal, mailbox: anchor, now: now) {
                try await clock.sleep(until: until, tolerance: nil)
                continue
            }
            if streamOpening {
                try await waitForRelease()
                continue
            }
            refill(now: now)
            if !hasToken(for: .listen) {
                try await waitForToken(.listen, now: now)
                continue
            }
            tokens -= 1
            streamOpening = true
            return
        }
    }

    /// Whether a request of `kind` may take a token now: while a listening call waits for one,
    /// other kinds leave the next token to it.
    private func hasToken(for kind: Kind) -> Bool { tokens >= tokensNeeded(kind) }

    private func tokensNeeded(_ kind: Kind) -> Double { kind == .listen || listenWaiting == 0 ? 1 : 2 }

    /// Sleeps until the bucket should hold what `kind` needs.
    private func waitForToken(_ kind: Kind, now: C.Instant) async throws {
        if kind == .listen { listenWaiting += 1 }
        defer { if kind == .listen { listenWaiting -= 1 } }
        let wait = Duration.milliseconds(Int(((tokensNeeded(kind) - tokens) / rate * 1000).rounded(.up)))
        try await clock.sleep(until: now.advanced(by: max(wait, .milliseconds(1))), tolerance: nil)
    }

    func releaseStreamOpen() {
        streamOpening = false
        wakeAll()
    }

    /// Honours an advised back-off: nothing in `scope` is sent before it ends.
    func pause(_ scope: PauseScope, for duration: Duration) {
        hold(scope, until: clock.now.advanced(by: duration))
    }

    /// Pauses `scope` until `until` unless it is already paused for longer: the later deadline wins.
    private func hold(_ scope: PauseScope, until: C.Instant) {
        if let existing = pauses[scope], existing >= until { return }
        pauses[scope] = until
    }

    /// What the server told this identity that a budget built anew for it (its tenant restarted
    /// with changed settings) must go on honouring: the advised pauses still in force, and the
    /// concurrency limit as ErrorExceededConnectionCount left it.
    struct Inheritance: Sendable {
        var pauses: [PauseScope: C.Instant]
        var limit: Int
    }

    func inheritance() -> Inheritance {
        let now = clock.now
        return Inheritance(pauses: pauses.filter { $0.value > now }, limit: limit)
    }

    /// Takes over `inheritance` from the budget this one replaces: its pauses (the later deadline
    /// wins) and its reduced concurrency limit, within this budget's own maximum. Advice is about
    /// the server's view of the account and the mailboxes, which new settings do not change.
    func inherit(_ inheritance: Inheritance) {
        for (scope, until) in inheritance.pauses { hold(scope, until: until) }
        limit = max(1, min(limit, inheritance.limit))
    }

    private func pauseDeadline(_ kind: Kind, mailbox: String, now: C.Instant) -> C.Instant? {
        var scopes: [PauseScope] = [.identity, .mailbox(mailbox)]
        if kind == .sync { scopes.append(.mailboxSync(mailbox)) }
        let active = scopes.compactMap { pauses[$0] }.filter { $0 > now }
        for scope in scopes where pauses[scope].map({ $0 <= now }) == true { pauses[scope] = nil }
        return active.max()
    }

    private func refill(now: C.Instant) {
        let elapsed = refilledAt.duration(to: now)
        tokens = min(max(1, rate), tokens + elapsed.inSeconds * rate)
        refilledAt = now
    }

    private func waitForRelease() async throws {
        let id = nextWaiterID
        nextWaiterID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters.append((id, continuation))
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: Int) {
        guard let i = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: i).continuation.resume(throwing: CancellationError())
    }

    /// Every waiter re-checks the budget; those that still do not fit wait again, in order.
    private func wakeAll() {
        let woken = waiters
        waiters.removeAll()
        for waiter in woken { waiter.continuation.resume() }
    }
}
