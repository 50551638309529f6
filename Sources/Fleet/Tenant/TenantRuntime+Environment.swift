import EWS
import Foundation
import HTTP
import Store
import Support

/// What mailbox actors ask of their tenant.
extension TenantRuntime {
    func subscribe(_ mailbox: Mailbox) async throws -> String {
        let (id, cookie): (String, String?)
        do {
            (id, cookie) = try await blockedAware { try await ews.subscribe(mailbox: mailbox.smtpAddress, watch: mailbox.watch) }
        } catch {
            // A failed first subscribe must not hold the start-up gate.
            arrived(mailbox.id)
            throw error
        }
        recordSubscribed(mailbox, id: id)
        // Autodiscover's group when known, else the server the cookie names (fact sheet §8.3).
        let key = affinityKeys(for: mailbox) ?? GroupPlanner.key(fromCookie: cookie)
        // No group (connection cap reached): the mailbox keeps its own cookie jar and is polled.
        let cookies = streamGroup(for: mailbox, key: key)?.cookies ?? AffinityCookieStore()
        if let cookie, cookies.value(of: Self.cookieName) == nil { cookies.set(Self.cookieName, cookie) }
        routes.set(mailbox.smtpAddress, EWSClient<C>.Route(mailbox: mailbox.smtpAddress, anchor: mailbox.smtpAddress,
                                                           cookies: cookies))
        return id
    }

    func unsubscribe(_ mailbox: Mailbox, subscriptionID: String) async throws {
        try await ews.unsubscribe(mailbox: mailbox.smtpAddress, subscriptionID: subscriptionID)
    }

    func sync(_ mailbox: Mailbox, folder: String, fromScratch: Bool) async throws {
        var syncer = FolderSyncer(service: ews, store: PostgresSyncStore(pool: pool))
        syncer.profile = tenant.itemProperties
        syncer.calendarWindow = tenant.calendarWindow
        let target = self.target(mailbox)
        _ = try await writer.fenced("checkpoint") {
            try await blockedAware { try await syncer.sync(target, folder: folder, fromScratch: fromScratch) }
        }
    }

    func deleteLocally(_ mailbox: Mailbox, folder: String, items: [String]) async throws -> Int {
        try await writer.deleteLocally(mailbox, folder: folder, items: items)
    }

    func resetSyncState(_ mailbox: Mailbox, folder: String) async throws {
        try await writer.resetSyncState(mailboxID: mailbox.id, folder: folder)
    }

    func persistSubscription(_ mailbox: Mailbox, subscriptionID: String?) async throws {
        guard let subscriptionID else {
            trust.drop(mailbox.id)
            try await writer.deleteSubscription(mailboxID: mailbox.id)
            return
        }
        let name = registry.name(of: mailbox.id) ?? "default#0"
        // The server's affinity key, not the group's name: with per-mailbox grouping the name is
        // the mailbox's own, and a warm restart must know which server the id lives on.
        let key = registry.server(ofGroup: name)
        let cookie = registry.groups[name]?.cookies.value(of: Self.cookieName)
        let record = SubscriptionRepository.SubscriptionRecord(
            mailboxID: mailbox.id, subscriptionID: subscriptionID, groupKey: key, anchorMailbox: mailbox.smtpAddress,
            affinityCookie: cookie)
        try await writer.saveSubscription(record)
    }

    /// False when the mailbox has no group and none can be opened (the identity's connection cap).
    func join(_ mailbox: Mailbox, subscriptionID: String, established: Bool, owner: MailboxActor<C>) async -> Bool {
        defer { arrived(mailbox.id) }
        let group = registry.group(of: mailbox.id)
            ?? streamGroup(for: mailbox, key: registry.ungroupedKey(of: mailbox.id) ?? affinityKeysByAddress[mailbox.smtpAddress] ?? "default")
        guard let group else { return false }
        trust.joined(mailboxID: mailbox.id, server: registry.server(ofGroup: group.key))
        group.join(subscriptionID: subscriptionID, mailbox: mailbox, owner: owner, established: established)
        return true
    }

    func leave(_ mailbox: Mailbox, owner: MailboxActor<C>) async {
        guard let group = registry.group(of: mailbox.id) else { return }
        group.leave(mailboxID: mailbox.id, owner: owner)
    }

    nonisolated func status(_ mailbox: Mailbox, _ state: MailboxStatusState, failure: MailboxFailure?, failures: Int,
                            nextAttempt: C.Instant?) {
        let next = nextAttempt.map { Date().addingTimeInterval(clock.now.duration(to: $0).inSeconds) }
        batcher.record(.init(mailboxID: mailbox.id, state: state.rawValue, errorCode: failure?.code,
                             errorMessage: failure?.message, consecutiveFailures: failures, nextAttemptAt: next,
                             instanceID: settings.instanceID, lease: lease))
    }

    private func affinityKeys(for mailbox: Mailbox) -> String? {
        affinityKeysByAddress[mailbox.smtpAddress]
    }

    /// A 403 from EWS means the tenant (not the mailbox) is refused: tell the supervisor.
    func blockedAware<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as EWSCallError where error.isTenantBlocked {
            notifyBlocked(error)
            throw error
        }
    }
}
