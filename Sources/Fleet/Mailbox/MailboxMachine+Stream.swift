import EWS

/// What the mailbox's stream group and tenant report about its subscription.
extension MailboxMachine {
    /// The group's connection carrying this subscription brought its first message: the
    /// subscription listens. The held catch-up runs now, and so does a catch-up owed to the
    /// failure of a healthy connection (paced: `owedCatchUp`).
    mutating func streamUp(now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .running || phase == .backingOff, subscriptionID != nil, !polling else { return [] }
        let wasUp = link == .up
        link = .up
        holdUntil = nil
        var actions: [MailboxAction<Instant>] = []
        if catchUpPending, !catchUpWhenHealthy { actions += owedCatchUp(now: now) }
        actions += startSyncIfDue(now: now)
        if !wasUp, phase == .running, syncing == nil, !refreshing { actions.append(.status(.streaming)) }
        return actions
    }

    /// The connection carrying this subscription has lived long enough: the subscription works,
    /// so resubscribing starts from a clean slate again, and a catch-up owed since a storm of
    /// short-lived connections runs now.
    mutating func streamHealthy(now: Instant) -> [MailboxAction<Instant>] {
        resubscribes.succeeded()
        if lastError.map(Self.isStreamFailure) ?? false { lastError = nil }
        return catchUpPending ? owedCatchUp(now: now) : []
    }

    /// The group's connection failed and reopens at `retryAt`: status leaves `streaming`, and a
    /// catch-up is owed for whatever the dead connection may have swallowed: at the next stream
    /// if it had been healthy, else once a stream is healthy again (a server that ends every
    /// connection at once would otherwise cost a sync of every folder per reconnect).
    mutating func streamDown(_ failure: MailboxFailure, failures: Int, retryAt: Instant, wasHealthy: Bool,
                             now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .running || phase == .backingOff, subscriptionID != nil, !polling else { return [] }
        link = .down(failure, failures: failures, retryAt: retryAt)
        // Events may be lost until a new stream is up and each folder synced on it again.
        listening = []
        lastError = failure
        catchUpWhenHealthy = catchUpPending ? catchUpWhenHealthy && !wasHealthy : !wasHealthy
        catchUpPending = true
        guard phase == .running, syncing == nil, !refreshing else { return [] }
        return [.status(.backingOff, nextAttempt: retryAt)]
    }

    /// Runs the owed catch-up now, or when `catchUpInterval` has passed since the last one.
    private mutating func owedCatchUp(now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .running else { return [] }
        let due = lastCatchUpAt.map { $0.advanced(by: config.catchUpInterval) } ?? now
        if now >= due { return catchUp(now: now) }
        catchUpAt = due
        return []
    }

    /// An error about this mailbox's subscription, routed from its stream group.
    mutating func streamFailed(_ failure: MailboxFailure, now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .running || phase == .backingOff else { return [] }
        switch failure.action {
        case .ignore, .proceed, .skipItem:
            return []
        case .resyncFolder:
            // Missed events: any folder may have changed, the folder tree included.
            listening = []
            dirty.formUnion(tracker.folders)
            if config.allFolders { refreshDue = true }
            syncDueAt = now
            return startSyncIfDue(now: now)
        case .resubscribe, .dropSubscription:
            return resubscribe(failure, reason: "refused", now: now)
        default:
            return handle(failure, retry: .subscribe, now: now, dropSubscription: true)
        }
    }

    /// The tenant found this mailbox's id untrustworthy: the server restarted (its ids may now
    /// name other subscriptions), another mailbox was just given the same id, or an event named a
    /// folder this subscription does not watch. Replace it at once, without unsubscribing it.
    mutating func subscriptionSuspect(_ reason: String, now: Instant) -> [MailboxAction<Instant>] {
        guard subscriptionID != nil, phase == .running || phase == .backingOff else { return [] }
        lastError = MailboxFailure(action: .resubscribe(rediscover: false), code: "SubscriptionSuspect", message: reason)
        return dropSubscriptionActions() + [.countResubscribe(reason: "suspect")] + beginSubscribe()
    }

    /// The subscription is gone (or was refused): subscribe again after the resubscribe pacer's
    /// back-off. Only a healthy stream resets that pacer, so a server that refuses every id ends
    /// in `failed` after `maxResubscribes`, retried rarely, instead of a subscribe loop.
    mutating func resubscribe(_ failure: MailboxFailure, reason: String, now: Instant) -> [MailboxAction<Instant>] {
        // Sync-only mode has no subscription to replace: a sync that asks for one (a vanished
        // folder of the list) is retried with the call pacer, which gives up in `failed`.
        if config.syncOnly { return handle(failure, retry: .sync, now: now) }
        lastError = failure
        var actions = dropSubscriptionActions() + [.countResubscribe(reason: reason)]
        polling = false
        link = .waiting
        let verdict = resubscribes.failed()
        let gaveUp: Bool
        if case .gaveUp = verdict { gaveUp = true } else { gaveUp = false }
        phase = gaveUp ? .failed : .backingOff
        retry = .subscribe
        let at = now.advanced(by: verdict.delay)
        retryAt = at
        actions.append(.status(gaveUp ? .failed : .backingOff, nextAttempt: at))
        return actions
    }

    /// The answer to `.joinGroup`: refused (no room for another connection) starts polling;
    /// joined after polling catches up on everything, as notifications were missed meanwhile.
    mutating func joinedGroup(_ joined: Bool, now: Instant) -> [MailboxAction<Instant>] {
        // Only a change matters: refused while streaming, or joined while polling.
        guard phase == .running || phase == .backingOff, subscriptionID != nil, joined == polling else { return [] }
        polling = !joined
        listening = []
        if polling {
            let poll = now.advanced(by: config.pollInterval)
            nextSafetySyncAt = min(nextSafetySyncAt ?? poll, poll)
            // No stream will come: the held catch-up runs now.
            holdUntil = nil
            var actions = startSyncIfDue(now: now)
            if phase == .running && syncing == nil && !refreshing { actions.append(.status(.polling)) }
            return actions
        }
        nextSafetySyncAt = now.advanced(by: config.safetySyncInterval)
        link = .waiting
        // Notifications were missed meanwhile, folder events included: catch up once it listens.
        dirty.formUnion(tracker.folders)
        if config.allFolders { refreshDue = true }
        holdUntil = now.advanced(by: config.attachTimeout)
        syncDueAt = syncDueAt ?? now
        return phase == .running && syncing == nil ? [.status(.subscribing)] : []
    }

    /// The tenant changed how mailboxes share connections and closed every group: join again.
    mutating func regroup(now: Instant) -> [MailboxAction<Instant>] {
        guard let id = subscriptionID, phase == .running || phase == .backingOff else { return [] }
        polling = false
        link = .waiting
        listening = []
        let joinAgain: [MailboxAction<Instant>] = [.joinGroup(id, established: !subscribedHere)]
        return joinAgain + (phase == .running && syncing == nil && !refreshing ? [.status(.subscribing)] : [])
    }
}
