import EWS

/// Which folders a mailbox syncs: hierarchy discovery (all-folders mode) and folder-id resolution.
extension MailboxMachine {
    /// All-folders mode: a hierarchy sync finished. New folders are synced (from their stored
    /// SyncState, or from scratch); vanished ones are no longer synced (the hierarchy sync already
    /// dropped their items from the mirror).
    mutating func hierarchyRefreshed(_ directory: FolderDirectory, now: Instant) -> [MailboxAction<Instant>] {
        guard refreshing else { return [] }
        refreshing = false
        pacer.succeeded()
        if lastError.map({ !Self.isStreamFailure($0) }) ?? false { lastError = nil }
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
            return resubscribe(failure, reason: "refused", now: now)
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
}
