import EWS

/// The subscription lifecycle of one mailbox as a plain state machine: events in, actions out.
/// `MailboxActor` executes the actions (EWS calls, timers, status writes); this type does no I/O,
/// so every transition is tested without a server or a clock.
///
/// Notifications only say *when*: they mark folders dirty, and after the coalescing window the
/// actor syncs each dirty folder from its stored SyncState until the server has nothing more.
struct MailboxMachine<Instant: InstantProtocol<Duration>>: Sendable where Instant: Sendable {
    enum Phase: Equatable, Sendable {
        case idle
        case subscribing
        case streaming
        case backingOff
        case paused
        case failed
        case stopped
    }

    /// What to do once a back-off ends.
    enum Retry: Equatable, Sendable {
        case subscribe
        case sync
    }

    struct Config: Sendable {
        var folders: [String]
        var coalescingWindow: Duration
        var safetySyncInterval: Duration
        /// Sync interval while no stream group has room for the mailbox (`polling`).
        var pollInterval: Duration = .seconds(60)
        var backoff: RetryBackoff
    }

    private(set) var phase: Phase = .idle
    private(set) var subscriptionID: String?
    private(set) var dirty: Set<String> = []
    private(set) var fullResync: Set<String> = []
    private(set) var syncing: String?
    private(set) var syncDueAt: Instant?
    private(set) var retryAt: Instant?
    private(set) var retry: Retry?
    private(set) var nextSafetySyncAt: Instant?
    /// Consecutive failures, for backoff and for `retryBounded`.
    private(set) var failures = 0
    private(set) var lastError: MailboxFailure?
    /// Subscribed but in no stream group (the identity's hanging-connection limit): no
    /// notifications arrive, so every folder is synced each `pollInterval`, and each poll tries to
    /// join a group again.
    private(set) var polling = false
    let config: Config
    private var backoff: RetryBackoff

    init(config: Config) {
        self.config = config
        backoff = config.backoff
    }

    // MARK: events

    /// Starts the mailbox, reusing a persisted subscription id when there is one: a warm restart
    /// does not resubscribe, only runs a catch-up sync from the stored SyncStates.
    mutating func start(persistedSubscription: String?, now: Instant) -> [MailboxAction<Instant>] {
        nextSafetySyncAt = now.advanced(by: config.safetySyncInterval)
        if let id = persistedSubscription {
            return becomeStreaming(id: id, persist: false, now: now)
        }
        return beginSubscribe()
    }

    mutating func subscribed(id: String, now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .subscribing else { return [] }
        failures = 0
        lastError = nil
        return becomeStreaming(id: id, persist: true, now: now)
    }

    mutating func subscribeFailed(_ failure: MailboxFailure, now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .subscribing else { return [] }
        return handle(failure, retry: .subscribe, now: now)
    }

    /// A notification for this mailbox's subscription. `folders` nil means "some folder" (all are
    /// marked dirty), e.g. a folder-level event in all-folders mode.
    mutating func notified(folders: Set<String>?, now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .streaming || phase == .backingOff && retry == .sync else { return [] }
        let targets = folders.map { $0.intersection(config.folders) }.flatMap { $0.isEmpty ? nil : $0 }
            ?? Set(config.folders)
        dirty.formUnion(targets)
        guard phase == .streaming else { return [] }
        if syncDueAt == nil {
            syncDueAt = now.advanced(by: config.coalescingWindow)
        }
        return startSyncIfDue(now: now)
    }

    /// The answer to `.joinGroup`: refused (no room for another connection) starts polling;
    /// joined after polling catches up on everything, as notifications were missed meanwhile.
    mutating func joinedGroup(_ joined: Bool, now: Instant) -> [MailboxAction<Instant>] {
        // Only a change matters: refused while streaming, or joined while polling.
        guard phase == .streaming || phase == .backingOff, subscriptionID != nil, joined == polling else { return [] }
        polling = !joined
        if polling {
            let poll = now.advanced(by: config.pollInterval)
            nextSafetySyncAt = min(nextSafetySyncAt ?? poll, poll)
            return phase == .streaming && syncing == nil ? [.status(.polling)] : []
        }
        nextSafetySyncAt = now.advanced(by: config.safetySyncInterval)
        dirty.formUnion(config.folders)
        syncDueAt = syncDueAt ?? now
        return (phase == .streaming && syncing == nil ? [.status(.streaming)] : []) + startSyncIfDue(now: now)
    }

    /// `mailbox resync` dropped the stored SyncStates: sync every folder from scratch now. A sync
    /// running meanwhile may store a state again, so the resync ignores stored states. Other
    /// phases need nothing: their next sync reads the (dropped) states.
    mutating func resyncRequested(now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .streaming || phase == .backingOff else { return [] }
        fullResync.formUnion(config.folders)
        dirty.formUnion(config.folders)
        syncDueAt = now
        return startSyncIfDue(now: now)
    }

    /// An error about this mailbox's subscription, routed from its stream group.
    mutating func streamFailed(_ failure: MailboxFailure, now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .streaming || phase == .backingOff else { return [] }
        switch failure.action {
        case .ignore, .proceed, .skipItem:
            return []
        case .resyncFolder:
            dirty.formUnion(config.folders)
            syncDueAt = now
            return startSyncIfDue(now: now)
        case .resubscribe, .dropSubscription:
            lastError = failure
            return resubscribe()
        default:
            return handle(failure, retry: .subscribe, now: now, dropSubscription: true)
        }
    }

    mutating func folderSynced(_ folder: String, now: Instant) -> [MailboxAction<Instant>] {
        guard syncing == folder else { return [] }
        syncing = nil
        fullResync.remove(folder)
        failures = 0
        lastError = nil
        var actions: [MailboxAction<Instant>] = []
        if !dirty.isEmpty { syncDueAt = syncDueAt ?? now }
        actions += startSyncIfDue(now: now)
        if syncing == nil { actions.append(.status(restingStatus)) }
        return actions
    }

    mutating func folderSyncFailed(_ folder: String, _ failure: MailboxFailure, now: Instant) -> [MailboxAction<Instant>] {
        guard syncing == folder else { return [] }
        syncing = nil
        dirty.insert(folder)
        switch failure.action {
        case .fullResync:
            // The SyncState is unusable: start that folder from scratch at once; the resync diffs
            // against the mirror, so it emits only real differences.
            lastError = failure
            fullResync.insert(folder)
            syncDueAt = now
            return [.dropSyncState(folder: folder)] + startSyncIfDue(now: now)
        case .refreshFolderHierarchy:
            lastError = failure
            dirty.remove(folder)
            return [.refreshHierarchy] + resubscribe()
        case .resubscribe, .dropSubscription:
            lastError = failure
            return resubscribe()
        default:
            return handle(failure, retry: .sync, now: now)
        }
    }

    /// The actor's single timer fired (or any time passed): runs whatever is due.
    mutating func tick(now: Instant) -> [MailboxAction<Instant>] {
        var actions: [MailboxAction<Instant>] = []
        if let due = retryAt, now >= due, phase == .backingOff || phase == .failed {
            retryAt = nil
            let step = retry
            retry = nil
            switch step {
            case .subscribe?, nil:
                actions += beginSubscribe()
            case .sync?:
                phase = .streaming
                syncDueAt = now
                actions.append(.status(restingStatus))
            }
        }
        if phase == .streaming, let safety = nextSafetySyncAt, now >= safety {
            nextSafetySyncAt = now.advanced(by: polling ? config.pollInterval : config.safetySyncInterval)
            dirty.formUnion(config.folders)
            syncDueAt = syncDueAt ?? now
            // A polled mailbox asks for a group again: one may have room by now.
            if polling, let id = subscriptionID { actions.append(.joinGroup(id)) }
        }
        actions += startSyncIfDue(now: now)
        return actions
    }

    /// The earliest instant at which `tick` has work: the actor sleeps until then.
    var nextDeadline: Instant? {
        var candidates: [Instant] = []
        if let retryAt { candidates.append(retryAt) }
        if phase == .streaming {
            if let syncDueAt, syncing == nil { candidates.append(syncDueAt) }
            if let nextSafetySyncAt { candidates.append(nextSafetySyncAt) }
        }
        return candidates.min()
    }

    mutating func pause() -> [MailboxAction<Instant>] {
        guard phase != .paused, phase != .stopped else { return [] }
        let id = subscriptionID
        reset(to: .paused)
        var actions: [MailboxAction<Instant>] = [.leaveGroup]
        if let id { actions += [.unsubscribe(id), .persistSubscription(nil)] }
        return actions + [.status(.paused)]
    }

    mutating func resume(now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .paused else { return [] }
        return start(persistedSubscription: nil, now: now)
    }

    /// Shutdown: stop streaming but keep the subscription persisted, for a warm restart.
    mutating func stop() -> [MailboxAction<Instant>] {
        guard phase != .stopped else { return [] }
        reset(to: .stopped)
        return [.leaveGroup]
    }

    // MARK: helpers

    /// The status between syncs.
    private var restingStatus: MailboxStatusState { polling ? .polling : .streaming }

    private mutating func beginSubscribe() -> [MailboxAction<Instant>] {
        phase = .subscribing
        polling = false
        return [.status(.subscribing), .subscribe]
    }

    private mutating func resubscribe() -> [MailboxAction<Instant>] {
        subscriptionID = nil
        syncDueAt = nil
        return [.leaveGroup, .persistSubscription(nil)] + beginSubscribe()
    }

    private mutating func becomeStreaming(id: String, persist: Bool, now: Instant) -> [MailboxAction<Instant>] {
        phase = .streaming
        subscriptionID = id
        // Catch-up: whatever happened while no subscription listened is found by syncing every
        // watched folder from its stored SyncState (or from scratch the first time).
        dirty.formUnion(config.folders)
        syncDueAt = now
        var actions: [MailboxAction<Instant>] = persist ? [.persistSubscription(id)] : []
        actions += [.joinGroup(id), .status(.streaming)]
        return actions + startSyncIfDue(now: now)
    }

    private mutating func startSyncIfDue(now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .streaming, syncing == nil, let due = syncDueAt, now >= due else { return [] }
        // Watched-folder order keeps the sync sequence deterministic.
        guard let folder = config.folders.first(where: dirty.contains) else {
            syncDueAt = nil
            return []
        }
        dirty.remove(folder)
        syncing = folder
        if dirty.isEmpty { syncDueAt = nil }
        return [.status(.syncing), .sync(folder: folder, fromScratch: fullResync.contains(folder))]
    }

    /// Back off (or give up) after a failure; `retry` is the step to take afterwards.
    private mutating func handle(
        _ failure: MailboxFailure, retry step: Retry, now: Instant, dropSubscription: Bool = false
    ) -> [MailboxAction<Instant>] {
        failures += 1
        lastError = failure
        var actions: [MailboxAction<Instant>] = []
        if dropSubscription {
            actions += [.leaveGroup, .persistSubscription(nil)]
            subscriptionID = nil
        }
        var next = step
        let delay: Duration
        let failedState: Bool
        switch failure.action {
        case .retryLater(let hint), .reduceConcurrency(let hint):
            delay = backoff.delay(attempt: failures, serverHint: hint.backOffMilliseconds.map { .milliseconds($0) })
            failedState = false
        case .retryBounded(let max, let fallback) where failures > max:
            if fallback == .resubscribe { failures = 0; return actions + resubscribe() }
            delay = backoff.failedDelay(attempt: failures)
            failedState = true
            next = .subscribe
        case .giveUp, .refreshCredentialsOnce:
            delay = backoff.failedDelay(attempt: failures)
            failedState = true
            next = .subscribe
        default:
            delay = backoff.delay(attempt: failures, serverHint: nil)
            failedState = false
        }
        if next == .subscribe && subscriptionID != nil && failedState {
            actions += [.leaveGroup, .persistSubscription(nil)]
            subscriptionID = nil
        }
        phase = failedState ? .failed : .backingOff
        retry = next == .sync && subscriptionID == nil ? .subscribe : next
        let at = now.advanced(by: delay)
        retryAt = at
        return actions + [.status(failedState ? .failed : .backingOff, nextAttempt: at)]
    }

    private mutating func reset(to newPhase: Phase) {
        phase = newPhase
        polling = false
        subscriptionID = nil
        dirty = []
        syncing = nil
        syncDueAt = nil
        retryAt = nil
        retry = nil
    }
}

/// A failure as the machine sees it: the action from the one action table, and what to report.
struct MailboxFailure: Equatable, Sendable {
    var action: EWSAction
    var code: String
    var message: String
}

enum MailboxStatusState: String, Sendable {
    case idle, subscribing, streaming, polling, syncing, backingOff = "backing_off", failed, paused
}

enum MailboxAction<Instant: InstantProtocol<Duration>>: Equatable, Sendable where Instant: Sendable {
    case subscribe
    case unsubscribe(String)
    case joinGroup(String)
    case leaveGroup
    case persistSubscription(String?)
    case sync(folder: String, fromScratch: Bool)
    case dropSyncState(folder: String)
    case refreshHierarchy
    case status(MailboxStatusState, nextAttempt: Instant? = nil)
}
