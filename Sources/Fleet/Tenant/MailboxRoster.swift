import Store

/// The mailboxes a tenant runtime runs an actor for, and what a new mailbox list from the database
/// asks of them. A pure plan: the runtime carries the steps out.
struct MailboxRoster: Sendable {
    enum Step: Sendable, Equatable {
        /// A new actor. `withPersistedSubscription`: it may reuse the subscription persisted for
        /// the mailbox (a warm start); false after a change of what it watches or how.
        case launch(Mailbox, withPersistedSubscription: Bool)
        case retire(Int64)
        case pause(Int64)
        case resume(Int64)
        case resync(Int64)
    }

    let tenant: Tenant
    private(set) var mailboxes: [Int64: Mailbox] = [:]

    init(tenant: Tenant) { self.tenant = tenant }

    /// Starts, pauses, resumes, restarts and stops actors to match the database.
    mutating func reconcile(_ list: [Mailbox]) -> [Step] {
        let wanted = Dictionary(uniqueKeysWithValues: list.map { ($0.id, $0) })
        var steps: [Step] = mailboxes.keys.sorted().filter { wanted[$0] == nil }.map { .retire($0) }
        for id in steps.compactMap(Self.retired) { mailboxes[id] = nil }
        for mailbox in list {
            guard let was = mailboxes[mailbox.id] else {
                mailboxes[mailbox.id] = mailbox
                steps.append(.launch(mailbox, withPersistedSubscription: true))
                continue
            }
            mailboxes[mailbox.id] = mailbox
            if needsRestart(was, mailbox) {
                // `mailbox update` changed what it watches or how: a new actor with the new
                // settings, starting without a subscription (a changed folder set forgot it; a mode
                // change needs none or a new one). A sync of the old actor still running commits as
                // a whole, or is refused for a folder no longer watched.
                steps += [.retire(mailbox.id), .launch(mailbox, withPersistedSubscription: false)]
                continue
            }
            if was.enabled, !mailbox.enabled { steps.append(.pause(mailbox.id)) }
            if !was.enabled, mailbox.enabled { steps.append(.resume(mailbox.id)) }
            if let requested = mailbox.resyncRequestedAt, requested != was.resyncRequestedAt { steps.append(.resync(mailbox.id)) }
        }
        return steps
    }

    private static func retired(_ step: Step) -> Int64? {
        if case .retire(let id) = step { return id }
        return nil
    }

    /// Whether a change of the mailbox row needs a new actor: what it watches, its mode, or (in
    /// sync-only mode) its interval. Pause, resume and resync are told to the running actor.
    private func needsRestart(_ old: Mailbox, _ new: Mailbox) -> Bool {
        let mode = new.effectiveMode(in: tenant)
        return old.watch != new.watch || old.effectiveMode(in: tenant) != mode || old.filter != new.filter
            || mode == .syncOnly && old.effectivePollInterval(in: tenant) != new.effectivePollInterval(in: tenant)
    }
}
