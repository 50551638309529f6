import EWS

/// The subscription lifecycle of one mailbox as a plain state machine: events in, actions out.
/// `MailboxActor` executes the actions (EWS calls, timers, status writes); this type does no I/O,
/// so every transition is tested without a server or a clock.
///
/// Notifications only say *when*: they mark folders dirty, and after the coalescing window the
/// actor syncs each dirty folder from its stored SyncState until the server has nothing more.
///
/// A subscription is only trusted to listen once its stream group says so (`streamUp`): the
/// catch-up sync that follows every (re)subscription waits for it (or for `attachTimeout`), so a
/// subscription the server refuses costs no sync, and whatever happened before the stream came up
/// is found by that sync. The status says `streaming` only while the stream is up.
struct MailboxMachine<Instant: InstantProtocol<Duration>>: Sendable where Instant: Sendable {
    enum Phase: Equatable, Sendable {
        case idle
        case subscribing
        /// Running: listening on its stream (or polling, with no room in a stream group) and
        /// syncing what notifications name; in sync-only mode, syncing on its timer.
        case running
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

    /// The mailbox's stream, as its group reports it (phase `streaming`, not polling).
    enum Link: Equatable, Sendable {
        /// Subscribed; the group has not yet brought a message on a connection carrying the id.
        case waiting
        case up
        /// The group's connection failed; it reopens at `retryAt`.
        case down(MailboxFailure, failures: Int, retryAt: Instant)
    }

    struct Config: Sendable {
        /// List mode: the watched folders. All-folders mode discovers them (SyncFolderHierarchy).
        var folders: [String]
        var coalescingWindow: Duration
        var safetySyncInterval: Duration
        /// Sync interval in sync-only mode, and while no stream group has room for the mailbox
        /// (`polling`).
        var pollInterval: Duration = .seconds(60)
        /// Sync-only mode: no subscription; every folder is synced each `pollInterval`.
        var syncOnly = false
        /// Sync-only mode: where in each interval this mailbox syncs (`SyncSchedule.offset`), so
        /// that a tenant's mailboxes spread their syncs over the interval.
        var scheduleOffset: Duration = .zero
        var backoff: RetryBackoff
        var allFolders = false
        /// EWS folder id → folder key, as persisted (list mode), so a warm restart asks EWS for none.
        var knownFolderIDs: [String: String] = [:]
        /// How long the catch-up sync after a (re)subscription waits for the stream to come up.
        var attachTimeout: Duration = .seconds(60)
        /// Catch-ups after stream failures run at most this often (a flapping server would
        /// otherwise cost a sync of every folder per reconnect).
        var catchUpInterval: Duration = .seconds(30)
        /// Consecutive resubscribes without a healthy stream before the mailbox is `failed`.
        var maxResubscribes = 3
        /// Apply a DeletedEvent at once where it is safe (see `MailboxMachine+Departures`).
        var deleteOnNotification = true
        /// A watched calendar: how long from now until its window next moves (00:00 UTC, from the
        /// wall clock), when the calendar is synced again to record what entered and left it.
        var windowMoves: (@Sendable () -> Duration)? = nil
    }

    // The state is `internal` (not `private(set)`) only because the transitions are split over
    // `MailboxMachine+*.swift`; nothing outside this type and its tests writes it.
    var phase: Phase = .idle
    var subscriptionID: String?
    /// The id came from our own Subscribe in this process and no server restart was seen since:
    /// only such an id is ever unsubscribed (a stale id may name another mailbox's subscription).
    var subscribedHere = false
    var link: Link = .waiting
    var dirty: Set<String> = []
    /// When the calendar's window moves next (`Config.windowMoves`).
    var windowMovesAt: Instant?
    var fullResync: Set<String> = []
    var syncing: String?
    var syncDueAt: Instant?
    /// Syncs wait for the stream until then (the catch-up after a (re)subscription).
    var holdUntil: Instant?
    var retryAt: Instant?
    var retry: Retry?
    var nextSafetySyncAt: Instant?
    /// A stream failure may have lost events: catch up once the stream is back (paced).
    var catchUpPending = false
    /// ... but only once it is healthy again: the failed connection was short-lived (a storm).
    var catchUpWhenHealthy = false
    var catchUpAt: Instant?
    var lastCatchUpAt: Instant?
    var lastError: MailboxFailure?
    /// The folders synced and how notification folder ids map to them.
    var tracker: FolderTracker
    /// Folders whose last completed sync started while the stream was up: every event after that
    /// sync's start reaches this subscription, so a DeletedEvent for them may be applied at once.
    var listening: Set<String> = []
    /// The sync running started while the stream was up.
    var syncStartedListening = false
    /// A hierarchy sync (all-folders mode) is wanted; it runs in the sync slot, before folders.
    var refreshDue = false
    /// A hierarchy sync is running (it holds the sync slot).
    var refreshing = false
    /// List mode: a GetFolder for unresolved distinguished folders is running (outside the slot).
    var resolving = false
    /// Subscribed but in no stream group (the identity's hanging-connection limit): no
    /// notifications arrive, so every folder is synced each `pollInterval`, and each poll tries to
    /// join a group again.
    var polling = false
    let config: Config
    /// Subscribe and sync calls that fail.
    var pacer: RetryPacer
    /// Resubscribes: reset only by a healthy stream, so a server that refuses every id makes the
    /// mailbox `failed` after `maxResubscribes`, however well its syncs go meanwhile.
    var resubscribes: RetryPacer

    init(config: Config) {
        self.config = config
        let backoff = config.backoff
        let policy = RetryPacer.Policy(initial: backoff.retry.initial, maximum: backoff.retry.maximum,
                                       failedInitial: backoff.failed.initial, failedMaximum: backoff.failed.maximum)
        pacer = RetryPacer(policy, seed: backoff.seed)
        var resubscribePolicy = policy
        resubscribePolicy.maxAttempts = config.maxResubscribes
        resubscribes = RetryPacer(resubscribePolicy, seed: backoff.seed &+ 1)
        tracker = FolderTracker(folders: config.folders, discovers: config.allFolders, knownIDs: config.knownFolderIDs)
    }

    /// The folders synced now: the configured list, or what the last hierarchy sync found.
    var folders: [String] { tracker.folders }

    /// Consecutive failures, for status: of the stream while it is down, else of calls and
    /// resubscribes.
    var failures: Int {
        if case .down(_, let failures, _) = link, phase == .running { return failures }
        return max(pacer.failures, resubscribes.failures)
    }

    // MARK: lifecycle

    /// Starts the mailbox, reusing a persisted subscription id when there is one: a warm restart
    /// does not resubscribe, only runs a catch-up sync from the stored SyncStates.
    mutating func start(persistedSubscription: String?, now: Instant) -> [MailboxAction<Instant>] {
        if config.syncOnly { return beginScheduled(forgetting: persistedSubscription, now: now) }
        nextSafetySyncAt = now.advanced(by: config.safetySyncInterval)
        if let id = persistedSubscription {
            return becomeStreaming(id: id, persist: false, now: now)
        }
        return beginSubscribe()
    }

    mutating func subscribed(id: String, now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .subscribing else { return [] }
        pacer.succeeded()
        subscribedHere = true
        return becomeStreaming(id: id, persist: true, now: now)
    }

    mutating func subscribeFailed(_ failure: MailboxFailure, now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .subscribing else { return [] }
        return handle(failure, retry: .subscribe, now: now)
    }

    mutating func pause() -> [MailboxAction<Instant>] {
        guard phase != .paused, phase != .stopped else { return [] }
        let id = subscriptionID
        let ours = subscribedHere
        reset(to: .paused)
        var actions: [MailboxAction<Instant>] = [.leaveGroup]
        if let id {
            // Only an id this process subscribed is unsubscribed: a stored id may name another
            // mailbox's subscription after a server restart. An id left alone expires by itself.
            if ours { actions.append(.unsubscribe(id)) }
            actions.append(.persistSubscription(nil))
        }
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
        // The supervisor marks its mailboxes `idle` in one statement once everything stopped.
        return [.leaveGroup]
    }

    /// `mailbox resync` dropped the stored SyncStates: sync every folder from scratch now. A sync
    /// running meanwhile may store a state again, so the resync ignores stored states. Other
    /// phases need nothing: their next sync reads the (dropped) states.
    mutating func resyncRequested(now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .running || phase == .backingOff else { return [] }
        fullResync.formUnion(tracker.folders)
        dirty.formUnion(tracker.folders)
        // The hierarchy state went with the item states: list the folders from scratch too.
        if config.allFolders { refreshDue = true }
        holdUntil = nil
        syncDueAt = now
        return startSyncIfDue(now: now)
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
                phase = .running
                syncDueAt = now
                actions.append(.status(restingStatus, nextAttempt: restingRetryAt))
            }
        }
        if let hold = holdUntil, now >= hold { holdUntil = nil }
        if let due = catchUpAt, now >= due, phase == .running { actions += catchUp(now: now) }
        if phase == .running, let safety = nextSafetySyncAt, now >= safety {
            nextSafetySyncAt = config.syncOnly
                ? SyncSchedule.slot(after: now, from: safety, every: config.pollInterval)
                : now.advanced(by: polling ? config.pollInterval : config.safetySyncInterval)
            dirty.formUnion(tracker.folders)
            // The safety sync (or poll) also catches folder changes whose events were lost.
            if config.allFolders { refreshDue = true }
            holdUntil = nil
            actions += resolveIfNeeded()
            syncDueAt = syncDueAt ?? now
            // A polled mailbox asks for a group again: one may have room by now.
            if polling, let id = subscriptionID { actions.append(.joinGroup(id, established: !subscribedHere)) }
        }
        if phase == .running, let moves = config.windowMoves {
            if let due = windowMovesAt, now >= due {
                // The calendar's window moved: what entered and what left it is recorded now.
                dirty.insert(FolderSyncer.calendarFolder)
                syncDueAt = syncDueAt ?? now
                windowMovesAt = nil
            }
            if windowMovesAt == nil { windowMovesAt = now.advanced(by: moves()) }
        }
        actions += startSyncIfDue(now: now)
        return actions
    }

    /// The earliest instant at which `tick` has work: the actor sleeps until then.
    var nextDeadline: Instant? {
        var candidates: [Instant] = []
        if let retryAt { candidates.append(retryAt) }
        if phase == .running {
            if let syncDueAt, syncing == nil, !refreshing { candidates.append(max(syncDueAt, holdUntil ?? syncDueAt)) }
            if let nextSafetySyncAt { candidates.append(nextSafetySyncAt) }
            if let catchUpAt { candidates.append(catchUpAt) }
            if let windowMovesAt { candidates.append(windowMovesAt) }
        }
        return candidates.min()
    }

    // MARK: helpers

    /// The status between syncs.
    var restingStatus: MailboxStatusState {
        if config.syncOnly { return .scheduled }
        if polling { return .polling }
        switch link {
        case .up: return .streaming
        case .waiting: return .subscribing
        case .down: return .backingOff
        }
    }

    /// When the stream is down: when its group tries again. Sync-only: when it syncs next.
    var restingRetryAt: Instant? {
        if config.syncOnly { return nextSafetySyncAt }
        if case .down(_, _, let at) = link, !polling { return at }
        return nil
    }

    mutating func beginSubscribe() -> [MailboxAction<Instant>] {
        phase = .subscribing
        polling = false
        link = .waiting
        return [.status(.subscribing), .subscribe]
    }

    mutating func becomeStreaming(id: String, persist: Bool, now: Instant) -> [MailboxAction<Instant>] {
        phase = .running
        subscriptionID = id
        link = .waiting
        listening = []
        // Catch-up: whatever happened while no subscription listened is found by syncing every
        // watched folder from its stored SyncState (or from scratch the first time), once the
        // subscription listens (or `attachTimeout` passed). In all-folders mode the hierarchy
        // goes first: it says which folders there are.
        dirty.formUnion(tracker.folders)
        if config.allFolders { refreshDue = true }
        catchUpPending = false
        catchUpWhenHealthy = false
        catchUpAt = nil
        lastCatchUpAt = now
        holdUntil = now.advanced(by: config.attachTimeout)
        syncDueAt = now
        var actions: [MailboxAction<Instant>] = persist ? [.persistSubscription(id)] : []
        actions += [.joinGroup(id, established: !persist), .status(.subscribing)]
        actions += resolveIfNeeded()
        return actions + startSyncIfDue(now: now)
    }

    /// Syncs every folder (and the hierarchy) now: events may have been lost.
    mutating func catchUp(now: Instant) -> [MailboxAction<Instant>] {
        catchUpPending = false
        catchUpWhenHealthy = false
        catchUpAt = nil
        lastCatchUpAt = now
        dirty.formUnion(tracker.folders)
        if config.allFolders { refreshDue = true }
        syncDueAt = syncDueAt ?? now
        return startSyncIfDue(now: now)
    }

    mutating func startSyncIfDue(now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .running, syncing == nil, !refreshing, let due = syncDueAt, now >= due else { return [] }
        if let hold = holdUntil, now < hold, link != .up, !polling { return [] }
        if refreshDue {
            refreshDue = false
            refreshing = true
            if dirty.isEmpty { syncDueAt = nil }
            return [.status(.syncing), .refreshHierarchy]
        }
        // Watched-folder order keeps the sync sequence deterministic.
        guard let folder = tracker.folders.first(where: dirty.contains) else {
            syncDueAt = nil
            return []
        }
        dirty.remove(folder)
        syncing = folder
        syncStartedListening = link == .up && !polling && subscriptionID != nil
        if dirty.isEmpty { syncDueAt = nil }
        return [.status(.syncing), .sync(folder: folder, fromScratch: fullResync.contains(folder))]
    }

    mutating func afterSlotFreed(now: Instant) -> [MailboxAction<Instant>] {
        var actions: [MailboxAction<Instant>] = []
        if !dirty.isEmpty || refreshDue { syncDueAt = syncDueAt ?? now }
        actions += startSyncIfDue(now: now)
        if syncing == nil, !refreshing, phase == .running {
            actions.append(.status(restingStatus, nextAttempt: restingRetryAt))
        }
        return actions
    }

    /// Back off (or give up) after a failed call; `retry` is the step to take afterwards.
    mutating func handle(
        _ failure: MailboxFailure, retry step: Retry, now: Instant, dropSubscription: Bool = false
    ) -> [MailboxAction<Instant>] {
        lastError = failure
        var actions: [MailboxAction<Instant>] = []
        if dropSubscription { actions += dropSubscriptionActions() }
        let verdict: RetryPacer.Verdict
        switch failure.action {
        case .retryLater(let hint), .reduceConcurrency(let hint):
            verdict = pacer.failed(hint: hint.backOffMilliseconds.map { .milliseconds($0) })
        case .retryBounded(let max, let fallback):
            verdict = pacer.failed(maxAttempts: max)
            if case .gaveUp = verdict, fallback == .resubscribe {
                pacer.succeeded()
                return actions + resubscribe(failure, reason: "retries_exhausted", now: now)
            }
        case .giveUp, .refreshCredentialsOnce:
            verdict = pacer.gaveUp()
        default:
            verdict = pacer.failed()
        }
        var next = step
        let failedState: Bool
        if case .gaveUp = verdict {
            failedState = true
            next = .subscribe
            if subscriptionID != nil { actions += dropSubscriptionActions() }
        } else {
            failedState = false
        }
        phase = failedState ? .failed : .backingOff
        // Sync-only mode has nothing to subscribe: whatever failed, the retry is the sync.
        retry = config.syncOnly ? .sync : next == .sync && subscriptionID == nil ? .subscribe : next
        let at = now.advanced(by: verdict.delay)
        retryAt = at
        return actions + [.status(failedState ? .failed : .backingOff, nextAttempt: at)]
    }

    /// Forgets the subscription (leaving its group) without unsubscribing it.
    mutating func dropSubscriptionActions() -> [MailboxAction<Instant>] {
        listening = []
        subscriptionID = nil
        subscribedHere = false
        syncDueAt = nil
        holdUntil = nil
        refreshing = false
        return [.leaveGroup, .persistSubscription(nil)]
    }

    mutating func reset(to newPhase: Phase) {
        phase = newPhase
        listening = []
        polling = false
        subscriptionID = nil
        subscribedHere = false
        link = .waiting
        dirty = []
        syncing = nil
        syncDueAt = nil
        holdUntil = nil
        retryAt = nil
        retry = nil
        catchUpPending = false
        catchUpWhenHealthy = false
        catchUpAt = nil
        refreshDue = false
        refreshing = false
        resolving = false
    }

    mutating func resolveIfNeeded() -> [MailboxAction<Instant>] {
        let names = tracker.unresolved
        // Folder ids only map notifications to folders: sync-only mode needs none.
        guard !resolving, !names.isEmpty, !config.syncOnly else { return [] }
        resolving = true
        return [.resolveFolders(names)]
    }
}
