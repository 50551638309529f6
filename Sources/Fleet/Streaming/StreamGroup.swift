import EWS
import HTTP
import Logging
import Store

/// One GetStreamingEvents connection shared by up to 200 subscriptions of mailboxes that live on
/// the same mailbox server (same affinity group). It routes every notification and per-id error to
/// the owning mailbox actor, and keeps the connection open:
///
/// - `Closed` → reopen at once (the server queued what happened in between), unless the identity's
///   budget is paused by an advised back-off (`EWSClient.openStream` waits it out);
/// - no byte for the idle timeout (90 s, the transport's watchdog) → the connection is dead: reopen;
/// - a member joins → reopen with the new id set (joins arriving together share one reopen);
///   a member leaving needs no reopen: events for ids we no longer own are ignored; the last member
///   leaving closes the connection (it counts against the identity's hanging-connection limit).
actor StreamGroup<C: Clock<Duration>> where C.Instant: Sendable {
    struct Member: Sendable {
        var mailbox: Mailbox
        var owner: MailboxActor<C>
    }

    enum Outcome: Sendable {
        case closed
        case membershipChanged
        case failed(any Error)
    }

    let key: String
    let cookies: AffinityCookieStore
    private let client: EWSClient<C>
    private let clock: C
    private let connectionTimeoutMinutes: Int
    private var backoff: RetryBackoff
    private let logger: Logger
    private let onTenantBlocked: @Sendable (EWSCallError) -> Void
    private let onActivity: @Sendable (_ heartbeat: [Int64], _ events: [Int64]) -> Void
    private var members: [String: Member] = [:]
    private var failures = 0
    private var catchUpPending = false
    private var closed = false
    private(set) var opened = 0

    init(key: String, client: EWSClient<C>, clock: C, connectionTimeoutMinutes: Int = 30, backoff: RetryBackoff,
         logger: Logger, onTenantBlocked: @escaping @Sendable (EWSCallError) -> Void,
         onActivity: @escaping @Sendable ([Int64], [Int64]) -> Void) {
        self.key = key
        self.client = client
        self.clock = clock
        self.connectionTimeoutMinutes = connectionTimeoutMinutes
        self.backoff = backoff
        self.onTenantBlocked = onTenantBlocked
        self.onActivity = onActivity
        cookies = AffinityCookieStore()
        var logger = logger
        logger[metadataKey: "group"] = "\(key)"
        self.logger = logger
    }

    var memberCount: Int { members.count }

    /// The group's anchor: its alphabetically first member (fact sheet §8.3).
    var anchor: String? { members.values.map(\.mailbox.smtpAddress).min() }

    func join(subscriptionID: String, mailbox: Mailbox, owner: MailboxActor<C>) {
        members[subscriptionID] = Member(mailbox: mailbox, owner: owner)
        // The new id must be attached: end the current connection (the run loop reopens it with
        // every member), or wake the idle loop. Joins landing before the reopen share it.
        if let connection, !reopenRequested {
            reopenRequested = true
            connection.cancel()
        }
        idleWaiter?.resume()
        idleWaiter = nil
    }

    func leave(mailboxID: Int64) {
        members = members.filter { $0.value.mailbox.id != mailboxID }
        if members.isEmpty, let connection, !reopenRequested {
            reopenRequested = true
            connection.cancel()
        }
    }

    /// Ends `run()`: the group was dropped by its tenant.
    func close() {
        closed = true
        members = [:]
        connection?.cancel()
        wakeIdle()
    }

    func run() async {
        while !Task.isCancelled && !closed {
            if members.isEmpty {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { idleWaiter = $0 }
                } onCancel: {
                    Task { await self.wakeIdle() }
                }
                continue
            }
            let outcome = await connectOnce()
            switch outcome {
            case .closed, .membershipChanged:
                failures = 0
            case .failed(let error):
                if Task.isCancelled { return }
                // Events may have gone into the dead connection: once a new one is attached,
                // every member catches up from its stored SyncState.
                catchUpPending = true
                failures += 1
                FleetMetrics.streamFailed()
                let delay = delay(after: error)
                logger.notice("stream failed; reopening", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try? await clock.sleep(until: clock.now.advanced(by: delay), tolerance: nil)
            }
        }
    }

    private var connection: Task<Outcome, Never>?
    private var reopenRequested = false
    private var idleWaiter: CheckedContinuation<Void, Never>?

    private func wakeIdle() {
        idleWaiter?.resume()
        idleWaiter = nil
    }

    /// Holds one connection until it closes, fails, or the membership changes.
    private func connectOnce() async -> Outcome {
        let ids = Array(members.keys.sorted().prefix(GetStreamingEventsRequest.maxSubscriptionIDs))
        let route = EWSClient<C>.Route(mailbox: anchor ?? "", anchor: anchor, cookies: cookies)
        let request: GetStreamingEventsRequest
        do {
            request = try GetStreamingEventsRequest(subscriptionIDs: ids, connectionTimeoutMinutes: connectionTimeoutMinutes)
        } catch {
            return .failed(error)
        }
        opened += 1
        FleetMetrics.streamOpened()
        reopenRequested = false
        let client = self.client
        let task = Task<Outcome, Never> {
            do {
                let stream = try await client.openStream(request, route: route)
                let decoder = StreamingEventDecoder()
                for try await chunk in stream {
                    for envelope in try decoder.feed(chunk) where await self.dispatch(envelope) {
                        stream.cancel()
                        return .closed
                    }
                }
                return .failed(EWSCallError(http: EWSHTTPFailure(kind: .connectionReset)))
            } catch {
                return .failed(error)
            }
        }
        connection = task
        let outcome = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        connection = nil
        return reopenRequested ? .membershipChanged : outcome
    }

    /// Routes one envelope; returns true when the server closed the connection.
    private func dispatch(_ envelope: StreamingEnvelope) -> Bool {
        switch envelope {
        case .heartbeat:
            if catchUpPending {
                catchUpPending = false
                // Events may have been lost with the failed connection: every folder is suspect.
                for member in members.values { member.owner.send(.notified(folders: nil)) }
            }
            onActivity(members.values.map(\.mailbox.id), [])
            return false
        case .notifications(let notifications):
            var touched: [Int64] = []
            for notification in notifications {
                guard let member = members[notification.subscriptionID] else { continue }
                touched.append(member.mailbox.id)
                // Only the folders the events name: the owner maps their EWS ids to its folders.
                member.owner.send(.activity(FolderActivity(events: notification.events)))
            }
            onActivity([], touched)
            return false
        case .error(let error):
            let failure = EWSCallError(status: error.status)
            if error.isConnectionLevel { return true }
            for id in error.subscriptionIDs {
                guard let member = members[id] else { continue }
                member.owner.send(.streamFailed(failure.failure))
                // The server drops every failed id from the connection except on missed events.
                if failure.decision.action != .resyncFolder { members[id] = nil }
            }
            return false
        case .closed:
            return true
        case .fault(let fault):
            logger.warning("fault on stream", metadata: ["code": "\(fault.responseCode ?? fault.faultCode)"])
            return true
        }
    }

    private func delay(after error: any Error) -> Duration {
        guard let call = error as? EWSCallError else { return backoff.delay(attempt: failures, serverHint: nil) }
        if call.isTenantBlocked { onTenantBlocked(call) }
        switch call.decision.action {
        case .retryLater(let hint), .reduceConcurrency(let hint):
            return backoff.delay(attempt: failures, serverHint: hint.backOffMilliseconds.map { .milliseconds($0) })
        case .giveUp, .refreshCredentialsOnce:
            return backoff.failedDelay(attempt: failures)
        default:
            return backoff.delay(attempt: failures, serverHint: nil)
        }
    }
}
