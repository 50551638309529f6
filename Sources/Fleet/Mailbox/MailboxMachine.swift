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
        /// List mode: the watched folders. All-folders mode discovers them (SyncFolderHierarchy).
        var folders: [String]
        var coalescingWindow: Duration
        var safetySyncInterval: Duration
        /// Sync interval while no stream group has room for the mailbox (`polling`).
        var pollInterval: Duration = .seconds(60)
        var backoff: RetryBackoff
        var allFolders = false
        /// EWS folder id → folder key, as persisted (list mode), so a warm restart asks EWS for none.
        var knownFolderIDs: [String: String] = [:]
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
    /// The folders synced and how notification folder ids map to them.
    private(set) var tracker: FolderTracker
    /// A hierarchy sync (all-folders mode) is wanted; it runs in the sync slot, before folders.
    private(set) var refreshDue = false
    /// A hierarchy sync is running (it holds the sync slot).
    private(set) var refreshing = false
    /// List mode: a GetFolder for unresolved distinguished folders is running (outside the slot).
    private(set) var resolving = false
    /// Subscribed but in no stream group (the identity's hanging-connection limit): no
    /// notifications arrive, so every folder is synced each `pollInterval`, and each poll tries to
    /// join a group again.
    private(set) var polling = false
    let config: Config
    private var backoff: RetryBackoff

    init(config: Config) {
        self.config = config
        backoff = config.backoff
        tracker = FolderTracker(folders: config.folders, discovers: config.allFolders, knownIDs: config.knownFolderIDs)
    }

    /// The folders synced now: the configured list, or what the last hierarchy sync found.
    var folders: [String] { tracker.folders }

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

    /// Folders to sync, by key. `folders` nil means "anything may have changed" (the catch-up after
    /// a stream failure): every folder is marked dirty and, in all-folders mode, the hierarchy too.
    mutating func notified(folders: Set<String>?, now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .streaming || phase == .backingOff && retry == .sync else { return [] }
        let targets = folders.map { $0.intersection(tracker.folders) }.flatMap { $0.isEmpty ? nil : $0 }
            ?? Set(tracker.folders)
        if folders == nil, config.allFolders { refreshDue = true }
        return markDirty(targets, now: now)
    }

    /// A notification's folder activity (EWS folder ids), mapped by the tracker: known ids mark
    /// their folder; an unknown id is ignored (list mode, ids known), marks everything (list mode,
    /// ids not yet known) or refreshes the hierarchy (all-folders mode), as do folder events.
    mutating func notified(_ activity: FolderActivity, now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .streaming || phase == .backingOff && retry == .sync else { return [] }
        let outcome = tracker.map(activity, refreshing: refreshing)
        if outcome.refreshHierarchy { refreshDue = true }
        guard !outcome.dirty.isEmpty || outcome.refreshHierarchy else { return [] }
        return markDirty(outcome.dirty, now: now)
    }

    private mutating func markDirty(_ targets: Set<String>, now: Instant) -> [MailboxAction<Instant>] {
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
        dirty.formUnion(tracker.folders)
        // Notifications were missed meanwhile, folder events included.
        if config.allFolders { refreshDue = true }
        syncDueAt = syncDueAt ?? now
        return (phase == .streaming && syncing == nil ? [.status(.streaming)] : []) + startSyncIfDue(now: now)
    }

    /// `mailbox resync` dropped the stored SyncStates: sync every folder from scratch now. A sync
    /// running meanwhile may store a state again, so the resync ignores stored states. Other
    /// phases need nothing: their next sync reads the (dropped) states.
    mutating func resyncRequested(now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .streaming || phase == .backingOff else { return [] }
        fullResync.formUnion(tracker.folders)
        dirty.formUnion(tracker.folders)
        // The hierarchy state went with the item states: list the folders from scratch too.
        if config.allFolders { refreshDue = true }
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
            // Missed events: any folder may have changed, the folder tree included.
            dirty.formUnion(tracker.folders)
            if config.allFolders { refreshDue = true }
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
        return afterSlotFreed(now: now)
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
        case .refreshFolderHierarchy where config.allFolders:
            // The folder is gone: its items leave the mirror; the hierarchy sync learns the rest.
            // SubscribeToAllFolders does not name it, so the subscription stays.
            lastError = failure
            dirty.remove(folder)
            fullResync.remove(folder)
            tracker.remove(folder)
            refreshDue = true
            syncDueAt = now
            return [.dropFolder(folder)] + startSyncIfDue(now: now)
        case .refreshFolderHierarchy:
            // A watched folder of the list vanished: the subscription names it, so resubscribe
            // (which reports the failure if the folder is really gone).
            lastError = failure
            dirty.remove(folder)
            return resubscribe()
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
            dirty.formUnion(tracker.folders)
            // The safety sync (or poll) also catches folder changes whose events were lost.
            if config.allFolders { refreshDue = true }
            actions += resolveIfNeeded()
            syncDueAt = syncDueAt ?? now
            // A polled mailbox asks for a group again: one may have room by now.
            if polling, let id = subscriptionID { actions.append(.joinGroup(id)) }
        }
        actions += startSyncIfDue(now: now)
        return actions
    }

    // MARK: folder directory

    /// All-folders mode: a hierarchy sync finished. New folders are synced (from their stored
    /// SyncState, or from scratch); vanished ones are no longer synced (the hierarchy sync already
    /// dropped their items from the mirror).
    mutating func hierarchyRefreshed(_ directory: FolderDirectory, now: Instant) -> [MailboxAction<Instant>] {
        guard refreshing else { return [] }
        refreshing = false
        failures = 0
        lastError = nil
        let (added, removed, again) = tracker.apply(directory)
        dirty.formUnion(added)
        dirty.subtract(removed)
        fullResync.subtract(removed)
        if again { refreshDue = true }
        return afterSlotFreed(now: now)
    }

    mutating func hierarchyRefreshFailed(_ failure: MailboxFailure, now: Instant) -> [MailboxAction<Instant>] {
        guard refreshing else { return [] }
        refreshing = false
        refreshDue = true
        switch failure.action {
        case .resubscribe, .dropSubscription:
            lastError = failure
            return resubscribe()
        default:
            return handle(failure, retry: .sync, now: now)
        }
    }

    /// List mode: EWS ids of distinguished folders (EWS id → folder key).
    mutating func foldersResolved(_ ids: [String: String]) -> [MailboxAction<Instant>] {
        resolving = false
        tracker.resolved(ids)
        return []
    }

    /// List mode: the resolution failed; unknown ids keep marking every folder, and the next
    /// start or safety sync tries again.
    mutating func folderResolutionFailed() -> [MailboxAction<Instant>] {
        resolving = false
        return []
    }

    private mutating func resolveIfNeeded() -> [MailboxAction<Instant>] {
        let names = tracker.unresolved
        guard !resolving, !names.isEmpty else { return [] }
        resolving = true
        return [.resolveFolders(names)]
    }

    private mutating func afterSlotFreed(now: Instant) -> [MailboxAction<Instant>] {
        var actions: [MailboxAction<Instant>] = []
        if !dirty.isEmpty || refreshDue { syncDueAt = syncDueAt ?? now }
        actions += startSyncIfDue(now: now)
        if syncing == nil, !refreshing, phase == .streaming { actions.append(.status(restingStatus)) }
        return actions
    }

    /// The earliest instant at which `tick` has work: the actor sleeps until then.
    var nextDeadline: Instant? {
        var candidates: [Instant] = []
        if let retryAt { candidates.append(retryAt) }
        if phase == .streaming {
            if let syncDueAt, syncing == nil, !refreshing { candidates.append(syncDueAt) }
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
        refreshing = false
        return [.leaveGroup, .persistSubscription(nil)] + beginSubscribe()
    }

    private mutating func becomeStreaming(id: String, persist: Bool, now: Instant) -> [MailboxAction<Instant>] {
        phase = .streaming
        subscriptionID = id
        // Catch-up: whatever happened while no subscription listened is found by syncing every
        // watched folder from its stored SyncState (or from scratch the first time). In
        // all-folders mode the hierarchy goes first: it says which folders there are.
        dirty.formUnion(tracker.folders)
        if config.allFolders { refreshDue = true }
        syncDueAt = now
        var actions: [MailboxAction<Instant>] = persist ? [.persistSubscription(id)] : []
        actions += [.joinGroup(id), .status(.streaming)]
        actions += resolveIfNeeded()
        return actions + startSyncIfDue(now: now)
    }

    private mutating func startSyncIfDue(now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .streaming, syncing == nil, !refreshing, let due = syncDueAt, now >= due else { return [] }
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
        refreshDue = false
        refreshing = false
        resolving = false
    }
}
