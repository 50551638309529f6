import EWS

/// A failure as the machine sees it: the action from the one action table, and what to report.
struct MailboxFailure: Equatable, Sendable {
    var action: EWSAction
    var code: String
    var message: String
}

enum MailboxStatusState: String, Sendable, CaseIterable {
    case idle, subscribing, streaming, polling, scheduled, syncing, backingOff = "backing_off", failed, paused
}

enum MailboxAction<Instant: InstantProtocol<Duration>>: Equatable, Sendable where Instant: Sendable {
    case subscribe
    case unsubscribe(String)
    /// `established`: a stored id (from before this process, or a polled mailbox's), not one the
    /// server just handed out: if the server refuses it, it forgot it.
    case joinGroup(String, established: Bool)
    case leaveGroup
    case persistSubscription(String?)
    case sync(folder: String, fromScratch: Bool)
    /// Items a DeletedEvent (or a move's old id) says left the folder: out of the mirror at once,
    /// each with a `deleted` row, without a sync; the SyncState stays, and the next sync's report of
    /// the same delete records nothing.
    case deleteLocally(folder: String, items: [String])
    case dropSyncState(folder: String)
    /// All-folders mode: SyncFolderHierarchy, reported back as `hierarchyRefreshed`.
    case refreshHierarchy
    /// List mode: learn the EWS ids of these distinguished folders (GetFolder).
    case resolveFolders([String])
    /// All-folders mode: a folder vanished; its items leave the mirror with `deleted` rows.
    case dropFolder(String)
    /// For `ewsf_resubscribes_total{reason}` and the log.
    case countResubscribe(reason: String)
    /// Events named folders this subscription does not watch: evidence for the tenant that the
    /// server reuses ids (it restarted).
    case reportForeignEvents(String)
    case status(MailboxStatusState, nextAttempt: Instant? = nil)
}
