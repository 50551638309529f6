import EWS

/// Notifications mark folders dirty; syncs report back.
extension MailboxMachine {
    /// Folders to sync, by key. `folders` nil means "anything may have changed": every folder is
    /// marked dirty and, in all-folders mode, the hierarchy too.
    mutating func notified(folders: Set<String>?, now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .running || phase == .backingOff && retry == .sync else { return [] }
        let targets = folders.map { $0.intersection(tracker.folders) }.flatMap { $0.isEmpty ? nil : $0 }
            ?? Set(tracker.folders)
        if folders == nil, config.allFolders { refreshDue = true }
        return markDirty(targets, now: now)
    }

    /// A notification's folder activity (EWS folder ids), mapped by the tracker: known ids mark
    /// their folder; an unknown id is ignored (list mode, ids known), marks everything (list mode,
    /// ids not yet known) or refreshes the hierarchy (all-folders mode), as do folder events. An
    /// event that names none of the folders a folder-scoped subscription watches means the id now
    /// belongs to somebody else's subscription (reused after a server restart): replace it.
    mutating func notified(_ activity: FolderActivity, now: Instant) -> [MailboxAction<Instant>] {
        guard phase == .running || phase == .backingOff && retry == .sync else { return [] }
        let outcome = tracker.map(activity, refreshing: refreshing)
        if outcome.foreign, let id = subscriptionID {
            return [.reportForeignEvents(id)]
                + subscriptionSuspect("an event named a folder this subscription does not watch", now: now)
        }
        if outcome.refreshHierarchy { refreshDue = true }
        let local = localDeletes(activity)
        guard !outcome.dirty.isEmpty || outcome.refreshHierarchy else { return local }
        return local + markDirty(outcome.dirty, now: now)
    }

    private mutating func markDirty(_ targets: Set<String>, now: Instant) -> [MailboxAction<Instant>] {
        dirty.formUnion(targets)
        guard phase == .running else { return [] }
        if syncDueAt == nil {
            syncDueAt = now.advanced(by: config.coalescingWindow)
        }
        return startSyncIfDue(now: now)
    }

    mutating func folderSynced(_ folder: String, now: Instant) -> [MailboxAction<Instant>] {
        guard syncing == folder else { return [] }
        syncing = nil
        if syncStartedListening { listening.insert(folder) } else { listening.remove(folder) }
        fullResync.remove(folder)
        pacer.succeeded()
        if lastError.map({ !Self.isStreamFailure($0) }) ?? false { lastError = nil }
        return afterSlotFreed(now: now)
    }

    mutating func folderSyncFailed(_ folder: String, _ failure: MailboxFailure, now: Instant) -> [MailboxAction<Instant>] {
        guard syncing == folder else { return [] }
        syncing = nil
        listening.remove(folder)
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
            dirty.remove(folder)
            return resubscribe(failure, reason: "folder_missing", now: now)
        case .resubscribe, .dropSubscription:
            return resubscribe(failure, reason: "refused", now: now)
        default:
            return handle(failure, retry: .sync, now: now)
        }
    }

    /// Stream failures are reported by the group and cleared by a healthy stream, not by a sync.
    static func isStreamFailure(_ failure: MailboxFailure) -> Bool {
        failure.code == "StreamEnded" || failure.code == "StreamEndedEarly"
    }
}
