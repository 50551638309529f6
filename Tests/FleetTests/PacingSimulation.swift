import EWS
@testable import Fleet
import TestSupport

/// A discrete-event simulation, in virtual time, of mailbox machines and their stream group
/// against a server that misbehaves in one fixed way. It plays the roles of `MailboxActor`,
/// `StreamGroup` and the server, and counts every EWS request per mailbox as a server would: the
/// oracle for "no retry path can storm" is the request log, which the machines do not write.
struct PacingSimulation {
    enum ServerPattern: Equatable {
        /// Heartbeats every 45 s; streams live until the 30-minute ConnectionTimeout.
        case healthy
        /// Every stream: an OK heartbeat, then the body ends at once.
        case closeAtOnceWithOK
        /// Every stream: Success messages with empty lists (gromox style), then Closed.
        case emptyListsThenClosed
        /// Every id of every stream is refused (ErrorInvalidSubscription), then Closed.
        case refuseEveryID
    }

    struct Request: Equatable {
        var at: Instant
        var operation: String
    }

    private enum Event {
        case mailbox(Int, (inout Machine, Instant) -> [Action])
        case group((inout GroupMachine, Instant) -> [GroupMachine.Action])
    }

    private struct Scheduled {
        var at: Instant
        var order: Int
        var event: Event
    }

    var pattern: ServerPattern
    private(set) var mailboxes: [Machine]
    private(set) var group: GroupMachine
    /// Per mailbox index: every request the server saw, in order.
    private(set) var requests: [[Request]]
    private var queue: [Scheduled] = []
    private var order = 0
    private var now = at(0)
    private var nextSubscriptionID = 0
    /// Mailboxes whose stored id is on the group; connection generations still open.
    private var liveGenerations: Set<Int> = []
    /// Subscription id → mailbox index.
    private var owners: [String: Int] = [:]

    init(mailboxes count: Int, pattern: ServerPattern) {
        self.pattern = pattern
        let config = FleetSettings(instanceID: "sim")
        mailboxes = (0..<count).map { index in
            var machineConfig = Machine.Config(
                folders: ["inbox"], coalescingWindow: config.coalescingWindow, safetySyncInterval: config.safetySyncInterval,
                pollInterval: config.pollInterval,
                backoff: RetryBackoff(initial: config.backoffInitial, maximum: config.backoffMax, seed: UInt64(index + 1)),
                knownFolderIDs: ["ID-inbox": "inbox"])
            machineConfig.maxResubscribes = config.maxResubscribes
            return Machine(config: machineConfig)
        }
        group = GroupMachine(config: config.streamGroupConfig(Instant.self), gateOpen: true, seed: 42)
        requests = Array(repeating: [], count: count)
    }

    // MARK: running

    /// Cold start: every mailbox subscribes.
    mutating func start() {
        for index in mailboxes.indices {
            schedule(after: .zero, .mailbox(index) { m, t in m.start(persistedSubscription: nil, now: t) })
        }
    }

    /// Set when the run stopped because time no longer advanced (a machine whose deadline never
    /// moves would be a busy loop in the real actor too).
    private(set) var stalled = false

    /// Runs until `end`, ticking every machine at its deadline.
    mutating func run(until end: Instant) {
        var stepsAtThisInstant = 0
        var lastInstant = now
        while true {
            if now == lastInstant {
                stepsAtThisInstant += 1
                if stepsAtThisInstant > 10_000 {
                    stalled = true
                    return
                }
            } else {
                lastInstant = now
                stepsAtThisInstant = 0
            }
            let deadlines = mailboxes.enumerated().compactMap { i, m in m.nextDeadline.map { (i, $0) } }
            let nextTick = deadlines.min { $0.1 < $1.1 }
            let groupDeadline = group.nextDeadline
            var candidates = [queue.map(\.at).min(), nextTick?.1, groupDeadline].compactMap { $0 }
            candidates.sort()
            guard let next = candidates.first, next <= end else {
                now = end
                return
            }
            now = max(now, next)
            if let index = queue.indices.filter({ queue[$0].at <= now }).min(by: { (queue[$0].at, queue[$0].order) < (queue[$1].at, queue[$1].order) }) {
                let item = queue.remove(at: index)
                handle(item.event)
            } else if let groupDeadline, groupDeadline <= now {
                apply(group: group.tick(now: now))
            } else if let (index, _) = nextTick {
                let actions = mailboxes[index].tick(now: now)
                apply(mailbox: index, actions)
            }
        }
    }

    /// Requests of one mailbox in [from, to).
    func count(_ index: Int, from: Double, to: Double) -> Int {
        requests[index].filter { $0.at >= at(from) && $0.at < at(to) }.count
    }

    /// The most requests one mailbox sent in any 60-second window starting in [from, to).
    func maxPerMinute(_ index: Int, from: Double, to: Double) -> Int {
        requests[index].map(\.at).filter { $0 >= at(from) && $0 < at(to) }.map { start in
            requests[index].filter { $0.at >= start && $0.at < start.advanced(by: .seconds(60)) }.count
        }.max() ?? 0
    }

    // MARK: plumbing

    private mutating func schedule(after delay: Duration, _ event: Event) {
        order += 1
        queue.append(Scheduled(at: now.advanced(by: delay), order: order, event: event))
    }

    private mutating func handle(_ event: Event) {
        switch event {
        case .mailbox(let index, let body):
            apply(mailbox: index, body(&mailboxes[index], now))
        case .group(let body):
            apply(group: body(&group, now))
        }
    }

    private mutating func record(_ index: Int, _ operation: String) {
        requests[index].append(Request(at: now, operation: operation))
    }

    private mutating func apply(mailbox index: Int, _ actions: [Action]) {
        for action in actions {
            switch action {
            case .subscribe:
                record(index, "Subscribe")
                nextSubscriptionID += 1
                let id = "S\(nextSubscriptionID)"
                owners[id] = index
                schedule(after: .milliseconds(100), .mailbox(index) { m, t in m.subscribed(id: id, now: t) })
            case .sync(let folder, _):
                record(index, "SyncFolderItems")
                schedule(after: .milliseconds(100), .mailbox(index) { m, t in m.folderSynced(folder, now: t) })
            case .resolveFolders:
                record(index, "GetFolder")
            case .unsubscribe:
                record(index, "Unsubscribe")
            case .refreshHierarchy:
                record(index, "SyncFolderHierarchy")
            case .joinGroup(let id, let established):
                let member = GroupMachine.Member(mailboxID: Int64(index), smtpAddress: "m\(index)@t.example",
                                                 established: established)
                apply(group: group.join(id: id, member: member, now: now))
            case .leaveGroup:
                apply(group: group.leave(mailboxID: Int64(index), now: now))
            case .persistSubscription, .status, .countResubscribe, .reportForeignEvents, .dropSyncState, .dropFolder, .deleteLocally:
                continue
            }
        }
    }

    private mutating func apply(group actions: [GroupMachine.Action]) {
        for action in actions {
            switch action {
            case .open(let generation, let ids, _):
                for id in ids { if let index = owners[id] { record(index, "GetStreamingEvents") } }
                liveGenerations.insert(generation)
                serve(generation: generation, ids: ids)
            case .cancel(let generation):
                guard liveGenerations.remove(generation) != nil else { continue }
                schedule(after: .milliseconds(10), .group { g, t in g.ended(generation: generation, .cancelled, now: t) })
            case .up(let ids):
                for id in ids { deliver(Int(id)) { m, t in m.streamUp(now: t) } }
            case .healthy(let ids):
                for id in ids { deliver(Int(id)) { m, t in m.streamHealthy(now: t) } }
            case .down(let ids, let failure, let failures, let retryAt, let wasHealthy):
                for id in ids {
                    deliver(Int(id)) { m, t in
                        m.streamDown(failure, failures: failures, retryAt: retryAt, wasHealthy: wasHealthy, now: t)
                    }
                }
            case .subscriptionError(let id, let failure):
                deliver(Int(id)) { m, t in m.streamFailed(failure, now: t) }
            case .activity(let id, let events):
                deliver(Int(id)) { m, t in m.notified(FolderActivity(events: events), now: t) }
            case .accepted, .refusals, .touch, .reopening:
                continue
            }
        }
    }

    private mutating func deliver(_ index: Int, _ body: @escaping (inout Machine, Instant) -> [Action]) {
        schedule(after: .zero, .mailbox(index, body))
    }

    /// What the server does with one GetStreamingEvents.
    private mutating func serve(generation: Int, ids: [String]) {
        schedule(after: .milliseconds(50), .group { g, t in g.opened(generation: generation, now: t) })
        func send(_ envelope: StreamingEnvelope, after ms: Int) {
            schedule(after: .milliseconds(ms), .group { g, t in g.received(envelope, generation: generation, now: t) })
        }
        func end(after ms: Int) {
            schedule(after: .milliseconds(ms), .group { g, t in g.ended(generation: generation, .endOfStream, now: t) })
        }
        switch pattern {
        case .healthy:
            for second in stride(from: 0, through: 1800, by: 45) { send(.heartbeat, after: 60 + second * 1000) }
            send(.closed, after: 1_800_100)
            end(after: 1_800_200)
        case .closeAtOnceWithOK:
            send(.heartbeat, after: 60)
            end(after: 70)
        case .emptyListsThenClosed:
            send(.heartbeat, after: 60)
            send(.heartbeat, after: 65)
            send(.closed, after: 70)
            end(after: 80)
        case .refuseEveryID:
            // As gromox does it: the refusal with Closed at once, the same again after 46 s, then a
            // Success Closed and the end of the body.
            let error = StreamingSubscriptionError(
                status: EWSResponseStatus(responseClass: .error, responseCode: "ErrorInvalidSubscription",
                                          messageText: "Subscription is invalid."), subscriptionIDs: ids)
            send(.error(error), after: 60)
            send(.closed, after: 60)
            send(.error(error), after: 46_060)
            send(.closed, after: 46_060)
            send(.closed, after: 46_061)
            end(after: 46_062)
        }
    }
}
