import Foundation
import Store
import TestSupport
import Testing

/// Every write that depends on a tenant lease is fenced by its epoch and holder: once another holder
/// took the lease over, a stale holder that wakes up changes nothing of the new holder's state.
@Suite(.requiresDatabase) struct LeaseFencingTests {
    /// `old` held the lease; it expired (no sleeping: the row is aged) and `new` took it over.
    static func takenOver(_ f: StoreFixture) async throws -> (old: LeaseToken, new: LeaseToken) {
        let leases = LeaseRepository(pool: f.pool)
        let old = try #require(try await leases.acquire(tenantID: f.tenant.id, holder: LeaseHolder(instanceID: "host-a", run: "1"),
                                                        ttl: .seconds(30)))
        try await expire(f)
        let new = try #require(try await leases.acquire(tenantID: f.tenant.id, holder: LeaseHolder(instanceID: "host-b", run: "2"),
                                                        ttl: .seconds(30)))
        #expect(new.epoch == old.epoch + 1)
        return (old, new)
    }

    static func expire(_ f: StoreFixture) async throws {
        try await f.pool.withConnection {
            try await $0.query("UPDATE tenant_leases SET expires_at = now() - interval '1 second'", name: "test.expire")
        }
    }

    @Test func aStaleHolderCannotOverwriteOrDeleteTheNewHoldersSubscription() async throws {
        try await StoreFixture.with("fence_sub") { f in
            let (old, new) = try await Self.takenOver(f)
            let subscriptions = SubscriptionRepository(pool: f.pool)
            func record(_ id: String) -> SubscriptionRepository.SubscriptionRecord {
                .init(mailboxID: f.mailbox.id, subscriptionID: id, groupKey: "g", anchorMailbox: f.mailbox.smtpAddress,
                      affinityCookie: nil)
            }
            try await subscriptions.saveSubscription(record("new-id"), lease: new)
            await #expect(throws: LeaseLostError.self) { try await subscriptions.saveSubscription(record("old-id"), lease: old) }
            await #expect(throws: LeaseLostError.self) { try await subscriptions.deleteSubscription(mailboxID: f.mailbox.id, lease: old) }
            #expect(try await subscriptions.subscriptions(tenantID: f.tenant.id) == [record("new-id")])
            // Nor does its stream liveness touch the new holder's row; the new holder's does.
            let refused = try await subscriptions.touchSubscriptions([.init(lease: old, heartbeat: [f.mailbox.id], events: [f.mailbox.id])])
            #expect(refused == [old])
            #expect(try await f.scalar("SELECT count(*) AS v FROM subscriptions WHERE last_heartbeat_at IS NOT NULL OR last_event_at IS NOT NULL") as Int == 0)
            #expect(try await subscriptions.touchSubscriptions([.init(lease: new, heartbeat: [f.mailbox.id], events: [])]).isEmpty)
            #expect(try await f.scalar("SELECT count(*) AS v FROM subscriptions WHERE last_heartbeat_at IS NOT NULL") as Int == 1)
        }
    }

    @Test func aStaleStatusEntryIsLeftOutAndTheRestOfTheBatchIsWritten() async throws {
        try await StoreFixture.with("fence_status") { f in
            let bob = try await MailboxRepository(pool: f.pool).add(tenant: "contoso", smtpAddress: "bob@contoso.example")
            let (old, new) = try await Self.takenOver(f)
            let statuses = StatusRepository(pool: f.pool)
            try await statuses.saveStatus([.init(mailboxID: f.mailbox.id, state: "streaming", instanceID: "host-b", lease: new)])
            // One batch: the stale holder's entry for alice, the new holder's for bob.
            let result = try await statuses.saveStatus([
                .init(mailboxID: f.mailbox.id, state: "failed", errorCode: "LeaseLost", instanceID: "host-a", lease: old),
                .init(mailboxID: bob.id, state: "syncing", instanceID: "host-b", lease: new),
            ])
            #expect(result.refused == [old: [f.mailbox.id]])
            let rows = try await f.pool.withConnection {
                try await $0.query("SELECT mailbox_id, state, instance_id, last_error_code FROM mailbox_status ORDER BY mailbox_id",
                                   name: "t").rows
            }
            #expect(try rows.map { try $0.decode("mailbox_id", as: Int64.self) } == [f.mailbox.id, bob.id])
            #expect(try rows.map { try $0.decode("state", as: String.self) } == ["streaming", "syncing"])
            #expect(try rows.map { try $0.decode("instance_id", as: String.self) } == ["host-b", "host-b"])
            #expect(try rows[0].decode("last_error_code", as: String?.self) == nil)
        }
    }

    @Test func aStaleHolderCannotResetTheNewHoldersSyncState() async throws {
        try await StoreFixture.with("fence_reset") { f in
            let (old, new) = try await Self.takenOver(f)
            try await CheckpointWriter(pool: f.pool).commit(f.checkpoint(state: "S-new", lease: new))
            let syncStates = SyncStateRepository(pool: f.pool)
            await #expect(throws: LeaseLostError.self) {
                try await syncStates.resetSyncState(mailboxID: f.mailbox.id, folderID: "inbox", lease: old)
            }
            #expect(try await syncStates.syncStates(mailboxID: f.mailbox.id) == ["inbox": "S-new"])
            try await syncStates.resetSyncState(mailboxID: f.mailbox.id, folderID: "inbox", lease: new)
            #expect(try await syncStates.syncStates(mailboxID: f.mailbox.id) == ["inbox": ""])
        }
    }

    @Test func aStaleHolderCannotDropTheNewHoldersFolderNorRewriteItsIds() async throws {
        try await StoreFixture.with("fence_drop") { f in
            let (old, new) = try await Self.takenOver(f)
            var page = f.checkpoint(state: "S1", lease: new)
            let (item, change) = created("A")
            page.upserts = [item]
            page.changes = [change]
            try await CheckpointWriter(pool: f.pool).commit(page)
            let folders = FolderRepository(pool: f.pool)
            try await folders.saveFolderIDs(mailboxID: f.mailbox.id, ["inbox": "AQMkInbox"], lease: new)

            var drop = FolderRepository.HierarchyCheckpoint(lease: old, tenant: f.tenant.name, mailboxID: f.mailbox.id,
                                                            mailbox: f.mailbox.smtpAddress, syncState: "H-old", observedAt: Date())
            drop.drops = ["inbox"]
            await #expect(throws: LeaseLostError.self) { try await folders.commit(drop) }
            await #expect(throws: LeaseLostError.self) {
                try await folders.saveFolderIDs(mailboxID: f.mailbox.id, ["inbox": "AQMkStale"], lease: old)
            }
            #expect(try await f.scalar("SELECT count(*) AS v FROM items") as Int == 1)
            #expect(try await f.scalar("SELECT count(*) AS v FROM changes WHERE kind = 'deleted'") as Int == 0)
            #expect(try await folders.folderIDs(tenantID: f.tenant.id) == [f.mailbox.id: ["AQMkInbox": "inbox"]])
            #expect(try await folders.hierarchy(mailboxID: f.mailbox.id).syncState == nil)
            drop.lease = new
            #expect(try await folders.commit(drop) == 1)  // the holder's own drop goes through
        }
    }

    @Test func aStaleHolderCannotBlockTheTenantNorChangeItsGroupingNorIdleItsMailboxes() async throws {
        try await StoreFixture.with("fence_tenant") { f in
            let (old, new) = try await Self.takenOver(f)
            let tenants = TenantRepository(pool: f.pool)
            await #expect(throws: LeaseLostError.self) {
                try await tenants.setState(name: f.tenant.name, .blocked, reason: "HTTP 403", lease: old)
            }
            await #expect(throws: LeaseLostError.self) {
                try await tenants.setGrouping(name: f.tenant.name, .perMailbox, reason: "refused", lease: old)
            }
            let stored = try await tenants.require(name: f.tenant.name)
            #expect(stored.state == .active && stored.grouping == .auto)
            // Releasing a lease it lost changes nothing: the new holder's mailboxes stay as it wrote them.
            try await StatusRepository(pool: f.pool).saveStatus([.init(mailboxID: f.mailbox.id, state: "streaming", lease: new)])
            #expect(try await LeaseRepository(pool: f.pool).release(old) == false)
            #expect(try await f.scalar("SELECT state AS v FROM mailbox_status") as String == "streaming")
            #expect(try await f.scalar("SELECT holder_run AS v FROM tenant_leases") as String == new.holder.run)
            // The holder's own release idles them and frees the lease at once.
            #expect(try await LeaseRepository(pool: f.pool).release(new))
            #expect(try await f.scalar("SELECT state AS v FROM mailbox_status") as String == "idle")
            #expect(try await f.scalar("SELECT count(*) AS v FROM tenant_leases WHERE instance_id IS NULL AND expires_at <= now()") as Int == 1)
        }
    }

    @Test func twoRunsWithTheSameInstanceIDNeverShareALease() async throws {
        try await StoreFixture.with("fence_same_id") { f in
            let leases = LeaseRepository(pool: f.pool)
            let first = LeaseHolder(instanceID: "ewsfleet-a", run: "100-aaaa")
            let second = LeaseHolder(instanceID: "ewsfleet-a", run: "200-bbbb")
            let held = try #require(try await leases.acquire(tenantID: f.tenant.id, holder: first, ttl: .seconds(30)))
            // The second run neither takes the live lease nor gets its epoch...
            #expect(try await leases.acquire(tenantID: f.tenant.id, holder: second, ttl: .seconds(30)) == nil)
            // ...nor can it renew, use or release it even if it guessed the epoch.
            let forged = LeaseToken(tenantID: f.tenant.id, holder: second, epoch: held.epoch)
            #expect(try await leases.renew(forged, ttl: .seconds(30)) == false)
            await #expect(throws: LeaseLostError.self) {
                try await SyncStateRepository(pool: f.pool).resetSyncState(mailboxID: f.mailbox.id, folderID: "inbox", lease: forged)
            }
            #expect(try await leases.release(forged) == false)
            #expect(try await leases.renew(held, ttl: .seconds(30)))
            // The first run's own re-acquire keeps its epoch.
            #expect(try await leases.acquire(tenantID: f.tenant.id, holder: first, ttl: .seconds(30)) == held)
            // Once it expires, the second run takes it at a new epoch, and the first has lost it.
            try await Self.expire(f)
            let taken = try #require(try await leases.acquire(tenantID: f.tenant.id, holder: second, ttl: .seconds(30)))
            #expect(taken.epoch == held.epoch + 1)
            #expect(try await leases.renew(held, ttl: .seconds(30)) == false)
            #expect(try await f.scalar("SELECT holder_run AS v FROM tenant_leases") as String == second.run)
        }
    }

    @Test func heartbeatsOfTwoLiveRunsWithOneInstanceIDAreNoticedAndAStopLeavesTheOtherAlive() async throws {
        try await StoreFixture.with("fence_heartbeat") { f in
            let instances = InstanceRepository(pool: f.pool)
            let first = LeaseHolder(instanceID: "ewsfleet-a", run: "1"), second = LeaseHolder(instanceID: "ewsfleet-a", run: "2")
            #expect(try await instances.heartbeat(holder: first, hostname: "h", pid: 1, version: "v") == false)
            #expect(try await instances.heartbeat(holder: first, hostname: "h", pid: 1, version: "v") == false)
            #expect(try await instances.heartbeat(holder: second, hostname: "h", pid: 2, version: "v"))
            try await instances.markStopped(holder: first)  // the row is the second run's now
            #expect(try await f.scalar("SELECT stopped_at IS NULL AS v FROM fleet_instances") as Bool)
            try await instances.markStopped(holder: second)
            #expect(try await f.scalar("SELECT stopped_at IS NOT NULL AS v FROM fleet_instances") as Bool)
            // A run after a clean stop is no second live run.
            #expect(try await instances.heartbeat(holder: first, hostname: "h", pid: 3, version: "v") == false)
        }
    }
}
