import EWS

/// The lifecycle of one stream group's GetStreamingEvents connection, as a plain state machine:
/// events in, actions out. `StreamGroup` executes the actions (HTTP, timers, routing to mailbox
/// actors); this type does no I/O, so pacing is tested in virtual time against any server
/// behaviour.
///
/// The rules that keep it from storming, whatever the server answers:
/// - A connection is **healthy** once it has lived `healthyAfter` (30 s) and brought a Success
///   message. A connection the server ends before that is a failure, whatever the ending looked
///   like (OK, Closed, empty lists, a reset): the next open waits for the `RetryPacer`'s back-off.
/// - A healthy connection that ends with `Closed` is reopened at once (Exchange's
///   ConnectionTimeout); one that ends any other way is a first failure (about 1 s).
/// - Reopens for our own membership changes never count as failures, and they are batched: joins
///   are applied `joinQuiet` after the last one, at most `joinMaxDelay` after the first, and never
///   while the group is backing off. Until the tenant's start-up gate opens (every starting
///   mailbox has joined or failed) the group does not open at all, so a cold start opens each
///   connection about once.
struct StreamGroupMachine<Instant: InstantProtocol<Duration>>: Sendable where Instant: Sendable {
    struct Config: Sendable {
        var healthyAfter: Duration = .seconds(30)
        var joinQuiet: Duration = .seconds(1)
        var joinMaxDelay: Duration = .seconds(10)
        var pacer = RetryPacer.Policy(initial: .seconds(2), maximum: .seconds(300))
        var maxIDsPerConnection = GetStreamingEventsRequest.maxSubscriptionIDs
    }

    struct Member: Sendable, Equatable {
        var mailboxID: Int64
        var smtpAddress: String
        /// The server has accepted this id before (on a connection, or it was stored before this
        /// process started). A refused established id means the server forgot it; a refused fresh
        /// one means the server never took it on this connection (grouping).
        var established: Bool
    }

    /// Why a connection ended, as the machine saw it.
    enum Ending: Sendable, Equatable {
        /// The body ended without Closed (EOF).
        case endOfStream
        /// The open or the stream failed (transport, HTTP, EWS error, malformed body); a server's
        /// advised back-off travels in the failure's action.
        case failed(MailboxFailure)
        /// We cancelled it (`cancel` action) or the group closed.
        case cancelled
    }

    /// One refusal report per connection message that refused ids: what the tenant needs to
    /// notice a restarted server (stored ids refused) or a server that binds subscriptions to
    /// the impersonated user (fresh ids of other members refused, the anchor's accepted).
    struct Refusals: Sendable, Equatable {
        var sent: [String: Member]
        var refused: [String: String]
        var anchorID: String?
    }

    enum Action: Sendable, Equatable {
        case open(generation: Int, ids: [String], anchor: String?)
        case cancel(generation: Int)
        /// Events for one member.
        case activity(mailboxID: Int64, events: [StreamingEvent])
        /// A per-id error for one member (it was dropped from the group unless the subscription
        /// lives on: ErrorMissedNotificationEvents).
        case subscriptionError(mailboxID: Int64, failure: MailboxFailure)
        /// The connection carrying these members brought its first Success message.
        case up([Int64])
        /// The server accepted these members' ids before their connection is healthy (see
        /// `becomeAlive`): they are established, so a refusal of them is restart evidence.
        case accepted([Int64])
        /// The connection carrying these members lived `healthyAfter`: their subscriptions work.
        case healthy([Int64])
        /// The connection failed; the next try is at `retryAt`. `wasHealthy`: it had lived long
        /// enough to be trusted (a catch-up can run as soon as a new one is up; after a
        /// short-lived one, only once a connection is healthy again, so a storm costs no syncs).
        case down([Int64], failure: MailboxFailure, failures: Int, retryAt: Instant, wasHealthy: Bool)
        case refusals(Refusals)
        /// Liveness for status (heartbeats of everyone on the connection, events of some).
        case touch(heartbeat: [Int64], events: [Int64])
        /// For logs and `ewsf_stream_reopens_total{reason}`: why a (re)open is coming.
        case reopening(reason: ReopenReason, failure: MailboxFailure?, delay: Duration)
    }

    enum ReopenReason: String, Sendable {
        case membership, serverClosed = "server_closed", shortLived = "short_lived", ended, openFailed = "open_failed"
    }

    private enum OurCancel: Sendable {
        /// New members to attach: reopen at once, no failure.
        case membership
        /// Nobody left to hear (every id refused, or every member left).
        case empty
        /// The group was dropped.
        case closed
    }

    private struct Link: Sendable {
        var generation: Int
        var ids: Set<String>
        var openedAt: Instant
        /// HTTP 200 arrived: the stream is open (before, it is still being opened).
        var open = false
        var alive = false
        var healthy = false
        /// Set by an envelope that ends the connection (a connection-level error, a fault).
        var serverEnding: Ending?
        /// The last message said Closed. Exchange ends the body next; gromox also says Closed in
        /// the message that refuses some ids and then goes on streaming the others, so a Closed is
        /// only final when the body ends after it.
        var closedSeen = false
        /// We cancelled it, and why.
        var ourCancel: OurCancel?
        /// The server refused ids on it.
        var refusedAny = false
    }

    let config: Config
    private(set) var members: [String: Member] = [:]
    /// Members whose id is not on the connection yet (kept, not recomputed: every event asks).
    private var unattached: Set<String> = []
    private var link: Link?
    private var generation = 0
    private var pacer: RetryPacer
    private(set) var retryAt: Instant?
    /// Joins not yet on a connection: when the first and the last arrived.
    private var pendingSince: Instant?
    private var lastJoinAt: Instant?
    private(set) var gateOpen: Bool
    private(set) var closed = false

    init(config: Config = Config(), gateOpen: Bool, seed: UInt64) {
        self.config = config
        self.gateOpen = gateOpen
        pacer = RetryPacer(config.pacer, seed: seed)
    }

    var failures: Int { pacer.failures }
    var isConnected: Bool { link?.open ?? false }

    /// The group's anchor: its alphabetically first member (fact sheet §8.3).
    var anchor: String? { members.values.map(\.smtpAddress).min() }

    // MARK: membership

    mutating func join(id: String, member: Member, now: Instant) -> [Action] {
        guard !closed else { return [] }
        // A mailbox has one subscription: a new id replaces its old one.
        for (old, existing) in members where existing.mailboxID == member.mailboxID && old != id {
            members[old] = nil
            unattached.remove(old)
        }
        members[id] = member
        if link?.ids.contains(id) == true { return [] }
        unattached.insert(id)
        pendingSince = pendingSince ?? now
        lastJoinAt = now
        return step(now: now)
    }

    mutating func leave(mailboxID: Int64, now: Instant) -> [Action] {
        for (id, member) in members where member.mailboxID == mailboxID {
            members[id] = nil
            unattached.remove(id)
        }
        if members.isEmpty {
            pendingSince = nil
            lastJoinAt = nil
        }
        return step(now: now)
    }

    mutating func openGate(now: Instant) -> [Action] {
        gateOpen = true
        return step(now: now)
    }

    mutating func close() -> [Action] {
        closed = true
        members = [:]
        unattached = []
        guard let link else { return [] }
        self.link?.ourCancel = .closed
        return [.cancel(generation: link.generation)]
    }

    // MARK: connection events

    /// HTTP 200: the stream is open.
    mutating func opened(generation: Int, now: Instant) -> [Action] {
        guard link?.generation == generation else { return [] }
        link?.open = true
        link?.openedAt = now
        return []
    }

    mutating func received(_ envelope: StreamingEnvelope, generation: Int, now: Instant) -> [Action] {
        guard var current = link, current.generation == generation, current.serverEnding == nil else { return [] }
        var actions: [Action] = []
        switch envelope {
        case .heartbeat:
            current.closedSeen = false
            actions += becomeAlive(&current, now: now)
            actions.append(.touch(heartbeat: mailboxes(on: current), events: []))
        case .notifications(let notifications):
            current.closedSeen = false
            actions += becomeAlive(&current, now: now)
            var touched: [Int64] = []
            for notification in notifications {
                // Events for ids no longer ours (left, replaced) are ignored.
                guard let member = members[notification.subscriptionID] else { continue }
                touched.append(member.mailboxID)
                actions.append(.activity(mailboxID: member.mailboxID, events: notification.events))
            }
            actions.append(.touch(heartbeat: [], events: touched))
        case .error(let error):
            let failure = EWSCallError(status: error.status).failure
            guard !error.isConnectionLevel else {
                current.serverEnding = .failed(failure)
                link = current
                return [.cancel(generation: generation)]
            }
            let before = members
            var refused: [String: String] = [:]
            for id in error.subscriptionIDs {
                guard let member = members[id] else { continue }
                actions.append(.subscriptionError(mailboxID: member.mailboxID, failure: failure))
                // The server drops every failed id from the connection except on missed events.
                if failure.action != .resyncFolder {
                    members[id] = nil
                    unattached.remove(id)
                }
                // Refused: the server does not hold (or will not give us) this subscription.
                switch failure.action {
                case .resubscribe, .dropSubscription: refused[id] = error.status.responseCode
                default: break
                }
            }
            current.ids.subtract(error.subscriptionIDs.filter { members[$0] == nil })
            if !refused.isEmpty {
                let anchorID = before.min { $0.value.smtpAddress < $1.value.smtpAddress }?.key
                actions.append(.refusals(Refusals(sent: before.filter { current.ids.contains($0.key) || refused[$0.key] != nil },
                                                  refused: refused, anchorID: anchorID)))
                current.refusedAny = true
            }
        case .closed:
            // Keep reading: the body's end makes it final (see `closedSeen`).
            current.closedSeen = true
        case .fault(let fault):
            current.serverEnding = .failed(EWSCallError(fault: fault).failure)
            link = current
            return [.cancel(generation: generation)]
        }
        link = current
        return actions
    }

    /// The connection of `generation` is over (body ended, failed, or cancelled).
    mutating func ended(generation: Int, _ ending: Ending, now: Instant) -> [Action] {
        guard let current = link, current.generation == generation else { return [] }
        link = nil
        if closed { return [] }
        let onConnection = mailboxes(on: current)
        let lifetime = current.openedAt.duration(to: now)
        let healthy = current.healthy || (current.alive && lifetime >= config.healthyAfter)
        switch current.ourCancel {
        case .membership?:
            // Our own doing: no failure, and the batching already waited.
            return step(now: now)
        case .closed?:
            return []
        case .empty?:
            // Every id was refused: if the connection never proved itself, the next open with
            // new ids is paced like any failure. (Members that left are no failure.)
            if healthy || !current.refusedAny { return step(now: now) }
            let delay = pacer.failed().delay
            retryAt = now.advanced(by: delay)
            return [.reopening(reason: .shortLived, failure: nil, delay: delay)] + step(now: now)
        case nil:
            break
        }
        let ending = current.serverEnding ?? ending
        if healthy && current.closedSeen {
            // The server's ConnectionTimeout: reopen at once with the same ids.
            pacer.succeeded()
            retryAt = now
            return [.reopening(reason: .serverClosed, failure: nil, delay: .zero)] + step(now: now)
        }
        if healthy { pacer.succeeded() }
        let (failure, hint, reason) = describe(ending, link: current, lifetime: lifetime, healthy: healthy)
        let delay = pacer.failed(hint: hint).delay
        let at = now.advanced(by: delay)
        retryAt = at
        var actions: [Action] = [.reopening(reason: reason, failure: failure, delay: delay)]
        if !onConnection.isEmpty {
            actions.append(.down(onConnection, failure: failure, failures: pacer.failures, retryAt: at, wasHealthy: healthy))
        }
        return actions + step(now: now)
    }

    mutating func tick(now: Instant) -> [Action] { step(now: now) }

    /// When `tick` has work next.
    var nextDeadline: Instant? {
        guard !closed else { return nil }
        if let link {
            guard link.open, link.ourCancel == nil, !unattached.isEmpty else { return nil }
            return membershipDue
        }
        guard gateOpen, !members.isEmpty else { return nil }
        // A retry (after a failure or Closed) opens at once when due; joins wait for their batch.
        return retryAt ?? membershipDue
    }

    // MARK: helpers

    private var membershipDue: Instant? {
        guard let pendingSince, let lastJoinAt else { return nil }
        return min(lastJoinAt.advanced(by: config.joinQuiet), pendingSince.advanced(by: config.joinMaxDelay))
    }

    /// The members a connection carries, in a stable order.
    private func mailboxes(on link: Link) -> [Int64] { link.ids.compactMap { members[$0]?.mailboxID }.sorted() }


    /// Opens, or cancels for membership, whatever is due now.
    private mutating func step(now: Instant) -> [Action] {
        guard !closed else { return [] }
        if let current = link {
            guard current.ourCancel == nil else { return [] }
            if members.isEmpty {
                // Nobody left to hear: free the connection (it counts against the identity's limit).
                link?.ourCancel = .empty
                pendingSince = nil
                lastJoinAt = nil
                return [.cancel(generation: current.generation)]
            }
            if current.open, !unattached.isEmpty, let due = membershipDue, now >= due {
                link?.ourCancel = .membership
                return [.reopening(reason: .membership, failure: nil, delay: .zero), .cancel(generation: current.generation)]
            }
            return []
        }
        guard gateOpen, !members.isEmpty else { return [] }
        if let retryAt {
            guard now >= retryAt else { return [] }
        } else if let due = membershipDue, now < due {
            return []
        }
        retryAt = nil
        pendingSince = nil
        lastJoinAt = nil
        generation += 1
        let ids = Array(members.keys.sorted().prefix(config.maxIDsPerConnection))
        link = Link(generation: generation, ids: Set(ids), openedAt: now)
        unattached = Set(members.keys).subtracting(ids)
        return [.open(generation: generation, ids: ids, anchor: anchor)]
    }

    private mutating func becomeAlive(_ current: inout Link, now: Instant) -> [Action] {
        // The hot path of every notification: nothing to do once the connection is healthy.
        if current.alive && current.healthy { return [] }
        var actions: [Action] = []
        if !current.alive {
            current.alive = true
            actions.append(.up(mailboxes(on: current)))
            // A Success message on a connection of one id says the server holds that id now. With
            // several ids it proves less: a server that binds subscriptions to the impersonated
            // user (gromox) may still refuse the members other than the anchor, and a fresh id it
            // refuses must not count as restart evidence, so those wait until `healthy`. Without
            // this, a server restart within 30 s of a subscribe went unnoticed when it handed the
            // id to another subscription of the same user (gromox; found by scripts/conformance-gromox).
            if current.ids.count == 1, let id = current.ids.first, let member = members[id], !member.established {
                members[id]?.established = true
                actions.append(.accepted([member.mailboxID]))
            }
        }
        if !current.healthy, current.openedAt.duration(to: now) >= config.healthyAfter {
            current.healthy = true
            pacer.succeeded()
            for id in current.ids { members[id]?.established = true }
            actions.append(.healthy(mailboxes(on: current)))
        }
        return actions
    }

    private func describe(_ ending: Ending, link: Link, lifetime: Duration, healthy: Bool)
        -> (MailboxFailure, Duration?, ReopenReason)
    {
        switch ending {
        case .failed(let failure):
            return (failure, Self.hint(failure), link.open ? (healthy ? .ended : .shortLived) : .openFailed)
        case .endOfStream, .cancelled:
            let tenths = lifetime.components.seconds * 10 + lifetime.components.attoseconds / 100_000_000_000_000_000
            let how = link.closedSeen ? "with Closed" : "without Closed"
            if healthy {
                return (MailboxFailure(action: .retryLater(EWSRetryHint(budget: .server)), code: "StreamEnded",
                                       message: "the server ended the stream \(how)"), nil, .ended)
            }
            let detail = link.alive ? "" : ", before its first heartbeat"
            return (MailboxFailure(action: .retryLater(EWSRetryHint(budget: .server)), code: "StreamEndedEarly",
                                   message: "the server ended the stream \(how) after \(tenths / 10).\(tenths % 10) s\(detail)"),
                    nil, .shortLived)
        }
    }

    /// A server's advised back-off, carried in the failure's action.
    static func hint(_ failure: MailboxFailure) -> Duration? {
        switch failure.action {
        case .retryLater(let hint), .reduceConcurrency(let hint): hint.backOffMilliseconds.map { .milliseconds($0) }
        default: nil
        }
    }
}
