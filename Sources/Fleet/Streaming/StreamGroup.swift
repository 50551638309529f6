import EWS
import HTTP
import Logging
import Store

/// One GetStreamingEvents connection shared by up to 200 subscriptions of mailboxes that live on
/// the same mailbox server (same affinity group): a thin actor around `StreamGroupMachine`, which
/// decides when to open, reopen and back off. This actor executes its actions: it opens the HTTP
/// stream, decodes envelopes, routes events and per-id errors to the owning mailbox actors, tells
/// them when their stream is up, healthy or down, and reports refused ids to the tenant.
actor StreamGroup<C: Clock<Duration>> where C.Instant: Sendable {
    typealias Machine = StreamGroupMachine<C.Instant>

    enum Event: Sendable {
        case join(id: String, member: Machine.Member, owner: MailboxActor<C>)
        case leave(Int64, owner: MailboxActor<C>)
        case openGate
        case close
        case opened(generation: Int, stream: HTTPStream)
        case envelope(generation: Int, StreamingEnvelope)
        case ended(generation: Int, Machine.Ending)
        case tick(UInt64)
    }

    struct Callbacks: Sendable {
        var tenantBlocked: @Sendable (EWSCallError) -> Void
        var activity: @Sendable (_ heartbeat: [Int64], _ events: [Int64]) -> Void
        /// Refused ids, for the tenant's restart and grouping detectors.
        var refusals: @Sendable (_ group: String, Machine.Refusals) -> Void
        /// Mailboxes whose ids lived on a healthy connection.
        var established: @Sendable ([Int64]) -> Void
        /// Whether the server could be reached at all (connection refused or not).
        var reachability: @Sendable (_ group: String, _ reachable: Bool) -> Void
    }

    let key: String
    nonisolated let cookies: AffinityCookieStore
    private let client: EWSClient<C>
    private let clock: C
    private let connectionTimeoutMinutes: Int
    private let callbacks: Callbacks
    private var logger: Logger
    private var machine: Machine
    private var owners: [Int64: MailboxActor<C>] = [:]
    private var streams: [Int: HTTPStream] = [:]
    /// The connection tasks, by generation. Unstructured because one must be cancelled on its own
    /// (a membership reopen) while the group lives on; `run()` cancels them all when it ends.
    private var connections: [Int: Task<Void, Never>] = [:]
    private var logs = LogThrottle<C.Instant>(interval: .seconds(30))
    private let events: AsyncStream<Event>
    private let input: AsyncStream<Event>.Continuation
    private var timer = DeadlineTimer<C>()

    init(key: String, client: EWSClient<C>, clock: C, connectionTimeoutMinutes: Int = 30, config: Machine.Config,
         gateOpen: Bool, seed: UInt64, logger: Logger, callbacks: Callbacks) {
        self.key = key
        self.client = client
        self.clock = clock
        self.connectionTimeoutMinutes = connectionTimeoutMinutes
        self.callbacks = callbacks
        machine = Machine(config: config, gateOpen: gateOpen, seed: seed)
        cookies = AffinityCookieStore()
        var logger = logger
        logger[metadataKey: "group"] = "\(key)"
        self.logger = logger
        (events, input) = AsyncStream.makeStream(of: Event.self)
    }

    // MARK: commands (callable from anywhere)

    /// `established`: the id was stored before this process started (or accepted before).
    nonisolated func join(subscriptionID: String, mailbox: Mailbox, owner: MailboxActor<C>, established: Bool) {
        input.yield(.join(id: subscriptionID, member: Machine.Member(
            mailboxID: mailbox.id, smtpAddress: mailbox.smtpAddress, established: established), owner: owner))
    }

    /// Only `owner`'s membership goes: a mailbox restarted with new settings (`mailbox update`)
    /// may have joined again through its new actor before the old one's leave arrives.
    nonisolated func leave(mailboxID: Int64, owner: MailboxActor<C>) { input.yield(.leave(mailboxID, owner: owner)) }

    /// The tenant's start-up gate: every starting mailbox has joined or failed.
    nonisolated func openGate() { input.yield(.openGate) }

    /// Ends `run()`: the group was dropped by its tenant.
    nonisolated func close() { input.yield(.close) }

    // MARK: run loop

    func run() async {
        await withDiscardingTaskGroup { group in
            for await event in events {
                for action in apply(event) { execute(action) }
                armTimer(group: &group)
                if machine.closed { break }
            }
            group.cancelAll()
        }
        for task in connections.values { task.cancel() }
        connections = [:]
        input.finish()
    }

    private func apply(_ event: Event) -> [Machine.Action] {
        let now = clock.now
        switch event {
        case .join(let id, let member, let owner):
            owners[member.mailboxID] = owner
            return machine.join(id: id, member: member, now: now)
        case .leave(let mailboxID, let owner):
            guard owners[mailboxID] == nil || owners[mailboxID] === owner else { return [] }
            owners[mailboxID] = nil
            return machine.leave(mailboxID: mailboxID, now: now)
        case .openGate:
            return machine.openGate(now: now)
        case .close:
            owners = [:]
            return machine.close()
        case .opened(let generation, let stream):
            guard connections[generation] != nil else {
                stream.cancel()
                return []
            }
            streams[generation] = stream
            callbacks.reachability(key, true)
            return machine.opened(generation: generation, now: now)
        case .envelope(let generation, let envelope):
            if case .fault(let fault) = envelope {
                logger.warning("fault on stream", metadata: ["code": "\(fault.responseCode ?? fault.faultCode)"])
            }
            return machine.received(envelope, generation: generation, now: now)
        case .ended(let generation, let ending):
            streams[generation] = nil
            connections[generation] = nil
            if case .failed(let failure) = ending, failure.code == EWSCallError.connectFailedCode {
                callbacks.reachability(key, false)
            }
            return machine.ended(generation: generation, ending, now: now)
        case .tick(let generation):
            guard timer.fired(generation) else { return [] }
            return machine.tick(now: now)
        }
    }

    private func execute(_ action: Machine.Action) {
        switch action {
        case .open(let generation, let ids, let anchor):
            open(generation: generation, ids: ids, anchor: anchor)
        case .cancel(let generation):
            streams[generation]?.cancel()
            connections[generation]?.cancel()
        case .activity(let mailboxID, let events):
            // Only the folders the events name: the owner maps their EWS ids to its folders.
            owners[mailboxID]?.send(.activity(FolderActivity(events: events)))
        case .subscriptionError(let mailboxID, let failure):
            owners[mailboxID]?.send(.streamFailed(failure))
            if failure.action != .resyncFolder { owners[mailboxID] = nil }
        case .up(let mailboxIDs):
            for id in mailboxIDs { owners[id]?.send(.streamUp) }
        case .accepted(let mailboxIDs):
            callbacks.established(mailboxIDs)
        case .healthy(let mailboxIDs):
            for id in mailboxIDs { owners[id]?.send(.streamHealthy) }
            callbacks.established(mailboxIDs)
        case .down(let mailboxIDs, let failure, let failures, let retryAt, let wasHealthy):
            for id in mailboxIDs {
                owners[id]?.send(.streamDown(failure, failures: failures, retryAt: retryAt, wasHealthy: wasHealthy))
            }
        case .refusals(let refusals):
            callbacks.refusals(key, refusals)
        case .touch(let heartbeat, let events):
            callbacks.activity(heartbeat, events)
        case .reopening(let reason, let failure, let delay):
            FleetMetrics.streamReopen(reason: reason.rawValue)
            guard let failure else { return }
            FleetMetrics.streamFailed()
            let now = clock.now
            guard let suppressed = logs.allow(reason.rawValue, now: now) else { return }
            logger.notice("stream ended; reopening after a back-off", metadata: [
                "reason": "\(reason.rawValue)", "error": "\(failure.code): \(failure.message)", "retry_in": "\(delay)",
                "failures": "\(machine.failures)", "suppressed": "\(suppressed)",
            ])
        }
    }

    private func open(generation: Int, ids: [String], anchor: String?) {
        let request: GetStreamingEventsRequest
        do {
            request = try GetStreamingEventsRequest(subscriptionIDs: ids, connectionTimeoutMinutes: connectionTimeoutMinutes)
        } catch {
            input.yield(.ended(generation: generation, .failed(MailboxActor<C>.failure(error))))
            return
        }
        FleetMetrics.streamOpened()
        let route = EWSClient<C>.Route(mailbox: anchor ?? "", anchor: anchor, cookies: cookies)
        let client = self.client
        let input = self.input
        let blocked = callbacks.tenantBlocked
        connections[generation] = Task {
            do {
                let stream = try await client.openStream(request, route: route)
                input.yield(.opened(generation: generation, stream: stream))
                let decoder = StreamingEventDecoder()
                for try await chunk in stream {
                    let receivedAt = ContinuousClock.now
                    for envelope in try decoder.feed(chunk) {
                        // An advised back-off inside the stream (ErrorServerBusy as an error message)
                        // holds every call charged to the anchor's budget, not only this reconnect.
                        if case .error(let error) = envelope {
                            await client.pauseIfAdvised(EWSCallError(status: error.status), mailbox: route.mailbox,
                                                        receivedAt: receivedAt)
                        }
                        input.yield(.envelope(generation: generation, envelope))
                    }
                }
                input.yield(.ended(generation: generation, Task.isCancelled ? .cancelled : .endOfStream))
            } catch {
                if let call = error as? EWSCallError, call.isTenantBlocked { blocked(call) }
                let cancelled = Task.isCancelled || error is CancellationError
                input.yield(.ended(generation: generation, cancelled ? .cancelled : .failed(MailboxActor<C>.failure(error))))
            }
        }
    }

    /// Schedules one tick at the machine's next deadline (`DeadlineTimer`).
    private func armTimer(group: inout DiscardingTaskGroup) {
        let input = self.input
        timer.arm(machine.nextDeadline, clock: clock, group: &group) { input.yield(.tick($0)) }
    }
}
