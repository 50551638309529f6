import Foundation
@testable import Store
import TestSupport
import Testing
import Support

/// Every table round-trips through the repositories that own it.
@Suite(.requiresDatabase) struct RepositoryRoundTripTests {
    @Test func tenantsRoundTripWithSealedSecret() async throws {
        try await StoreFixture.with("tenants") { f in
            let repo = TenantRepository(pool: f.pool)
            let new = NewTenant(name: "fabrikam.eu-1", ewsURL: "https://outlook.office365.com/EWS/Exchange.asmx",
                                autodiscoverURL: "https://autodiscover.fabrikam.example/autodiscover/autodiscover.svc",
                                authKind: .oauth2, identity: "00000000-1111-2222-3333-444444444444",
                                tokenURL: "https://login.example/fabrikam/oauth2/v2.0/token",
                                scope: "https://outlook.office365.com/.default", impersonation: true,
                                throttling: ThrottlingPolicy(maxConcurrentRequests: 7, requestRate: 3.5, subscriptionsPerConnection: 150,
                                                             hangingConnections: 3),
                                caBundle: "/etc/ssl/fabrikam.pem", insecureTLS: false)
            let added = try await repo.add(new, secret: Secret("client-secret-value"), keyring: f.keyring)
            let found = try #require(try await repo.find(name: "fabrikam.eu-1"))
            #expect(found == added)
            #expect(found.authKind == .oauth2 && found.identity == new.identity && found.tokenURL == new.tokenURL)
            #expect(found.throttling == new.throttling && found.caBundle == new.caBundle && found.state == .active)
            #expect(try f.keyring.open(#require(found.sealedSecret), tenant: found.name).unredactedValue == "client-secret-value")
            // The clear text never reaches the database.
            let leaked: Bool = try await f.scalar(
                "SELECT count(*) > 0 AS v FROM tenants WHERE position(convert_to('client-secret-value', 'UTF8') IN secret_ciphertext) > 0")
            #expect(!leaked)
            try await repo.setState(name: "fabrikam.eu-1", .blocked, reason: "HTTP 403")
            #expect(try await repo.require(name: "fabrikam.eu-1").state == .blocked)
            #expect(try await repo.list().map(\.name) == ["contoso", "fabrikam.eu-1"])
            await #expect(throws: StoreError(.duplicate, "tenant fabrikam.eu-1 already exists")) {
                try await repo.add(new, secret: nil, keyring: f.keyring)
            }
            try await repo.remove(name: "fabrikam.eu-1")
            await #expect(throws: StoreError.self) { try await repo.require(name: "fabrikam.eu-1") }
        }
    }

    @Test func aWrongKeyCannotOpenAStoredSecret() async throws {
        try await StoreFixture.with("wrongkey") { f in
            let sealed = try #require(try await TenantRepository(pool: f.pool).require(name: "contoso").sealedSecret)
            let other = SecretKeyring(current: SecretKey.generate().key)
            #expect(performing: { try other.open(sealed, tenant: "contoso") },
                    throws: { ($0 as? SecretError)?.code == .unknownKey })
        }
    }

    @Test func mailboxesRoundTrip() async throws {
        try await StoreFixture.with("mailboxes") { f in
            let repo = MailboxRepository(pool: f.pool)
            #expect(f.mailbox.smtpAddress == "alice@contoso.example")  // stored lower-case
            let all = try await repo.add(tenant: "contoso", smtpAddress: "bob@contoso.example", watch: .allFolders)
            let some = try await repo.add(tenant: "contoso", smtpAddress: "carol@contoso.example",
                                          watch: .folders(["inbox", "AAMkADk\"weird,{id}"]))
            #expect(try await repo.find(tenant: "contoso", smtpAddress: "BOB@contoso.example") == all)
            #expect(try await repo.find(tenant: "contoso", smtpAddress: "carol@contoso.example")?.watch
                    == .folders(["inbox", "AAMkADk\"weird,{id}"]))
            #expect(some.enabled)
            await #expect(throws: StoreError.self) { try await repo.add(tenant: "contoso", smtpAddress: "ALICE@contoso.example") }
            await #expect(throws: StoreError(.invalidInput, "invalid email address not-an-address")) {
                try await repo.add(tenant: "contoso", smtpAddress: "not-an-address")
            }
            await #expect(throws: StoreError(.notFound, "unknown tenant nope")) {
                try await repo.add(tenant: "nope", smtpAddress: "x@y.example")
            }
            await #expect(throws: StoreError(.notFound, "unknown tenant nope")) {
                try await repo.add(tenant: "nope", smtpAddress: "x@y.example", watch: .allFolders)
            }
            // All-folders mode needs impersonation (SubscribeToAllFolders cannot name a mailbox).
            var update = TenantUpdate()
            update.impersonation = false
            try await TenantRepository(pool: f.pool).update(name: "contoso", update, secret: nil, keyring: f.keyring)
            let refused = await #expect(throws: StoreError.self) {
                try await repo.add(tenant: "contoso", smtpAddress: "dave@contoso.example", watch: .allFolders)
            }
            #expect(refused?.code == .invalidInput)
            #expect(try await repo.find(tenant: "contoso", smtpAddress: "dave@contoso.example") == nil)
            try await repo.setEnabled(tenant: "contoso", smtpAddress: "bob@contoso.example", false)
            #expect(try await repo.find(tenant: "contoso", smtpAddress: "bob@contoso.example")?.enabled == false)
            #expect(try await repo.list(tenant: "contoso").count == 3)
            try await repo.remove(tenant: "contoso", smtpAddress: "carol@contoso.example")
            #expect(try await repo.list().count == 2)
        }
    }

    @Test func subscriptionsStatusInstancesAndConsumersRoundTrip() async throws {
        try await StoreFixture.with("fleetstate") { f in
            let instances = InstanceRepository(pool: f.pool)
            let statuses = StatusRepository(pool: f.pool)
            let subscriptions = SubscriptionRepository(pool: f.pool)
            let lease = try #require(try await LeaseRepository(pool: f.pool).acquire(
                tenantID: f.tenant.id, holder: LeaseHolder(instanceID: "i-1", run: "r1"), ttl: .seconds(30)))
            let sub = SubscriptionRepository.SubscriptionRecord(
                mailboxID: f.mailbox.id, subscriptionID: "JgBibjFwcjAzbWIy==", groupKey: "https://ews/|server1",
                anchorMailbox: "alice@contoso.example", affinityCookie: "MB1.example~1941996295")
            try await subscriptions.saveSubscription(sub, lease: lease)
            #expect(try await subscriptions.subscriptions(tenantID: f.tenant.id) == [sub])
            try await subscriptions.touchSubscriptions([.init(lease: lease, heartbeat: [f.mailbox.id], events: [])])
            let beat: Bool = try await f.scalar("SELECT last_heartbeat_at IS NOT NULL AS v FROM subscriptions")
            #expect(beat)
            try await subscriptions.deleteSubscription(mailboxID: f.mailbox.id, lease: lease)
            #expect(try await subscriptions.subscriptions(tenantID: f.tenant.id).isEmpty)

            let next = Date(timeIntervalSince1970: 1_800_000_000)
            try await statuses.saveStatus([.init(mailboxID: f.mailbox.id, state: "backing_off", errorCode: "ErrorServerBusy",
                                              errorMessage: "slow down", consecutiveFailures: 2, nextAttemptAt: next,
                                              instanceID: "i-1")])
            let row = try await f.pool.withConnection {
                try await $0.query("SELECT * FROM mailbox_status", name: "t").rows[0]
            }
            #expect(try row.decode("state", as: String.self) == "backing_off")
            #expect(try row.decode("last_error_code", as: String.self) == "ErrorServerBusy")
            #expect(try row.decode("consecutive_failures", as: Int.self) == 2)
            #expect(try row.decode("next_attempt_at", as: Date.self) == next)

            try await instances.heartbeat(holder: lease.holder, hostname: "h", pid: 42, version: "0.1")
            try await instances.markStopped(holder: lease.holder)
            let stopped: Bool = try await f.scalar("SELECT stopped_at IS NOT NULL AS v FROM fleet_instances WHERE instance_id = 'i-1'")
            #expect(stopped)


            let consumers = ConsumerRepository(pool: f.pool)
            #expect(try await consumers.position(of: "billing") == .start)
            let position = OutboxPosition(txid: 1234, id: 99)
            try await consumers.save(position, for: "billing")
            try await consumers.save(OutboxPosition(txid: 1, id: 1), for: "billing")  // never backwards
            #expect(try await consumers.position(of: "billing") == position)
        }
    }

    @Test func leasesTakeOverOnlyWhenExpiredAndBumpTheEpoch() async throws {
        try await StoreFixture.with("leases") { f in
            let leases = LeaseRepository(pool: f.pool)
            let (ha, hb, hc) = (LeaseHolder(instanceID: "a", run: "1"), LeaseHolder(instanceID: "b", run: "1"),
                                LeaseHolder(instanceID: "c", run: "1"))
            let a = try #require(try await leases.acquire(tenantID: f.tenant.id, holder: ha, ttl: .seconds(30)))
            #expect(try await leases.acquire(tenantID: f.tenant.id, holder: hb, ttl: .seconds(30)) == nil)
            #expect(try await leases.acquire(tenantID: f.tenant.id, holder: ha, ttl: .seconds(30)) == a)  // same epoch
            #expect(try await leases.renew(a, ttl: .milliseconds(1)))
            try await f.pool.withConnection { try await $0.query("SELECT pg_sleep(0.01)", name: "t") }
            let b = try #require(try await leases.acquire(tenantID: f.tenant.id, holder: hb, ttl: .seconds(30)))
            #expect(b.epoch == a.epoch + 1)
            #expect(!(try await leases.renew(a, ttl: .seconds(30))))  // a lost it
            try await leases.release(b)
            let c = try #require(try await leases.acquire(tenantID: f.tenant.id, holder: hc, ttl: .seconds(30)))
            #expect(c.epoch == b.epoch + 1)
        }
    }

    @Test func viewsSummariseTenantsAndLaggingMailboxes() async throws {
        try await StoreFixture.with("views") { f in
            let (item, change) = created("i1")
            var cp = f.checkpoint(state: "S1")
            cp.upserts = [item]
            cp.changes = [change]
            try await CheckpointWriter(pool: f.pool).commit(cp)
            let instances = InstanceRepository(pool: f.pool)
            let statuses = StatusRepository(pool: f.pool)
            let holder = LeaseHolder(instanceID: "i1", run: "r1")
            try await instances.heartbeat(holder: holder, hostname: "h", pid: 1, version: "v")
            try await statuses.saveStatus([.init(mailboxID: f.mailbox.id, state: "streaming", instanceID: "i1")])
            let row = try await f.pool.withConnection {
                try await $0.query("SELECT * FROM tenant_summary WHERE tenant = 'contoso'", name: "t").rows[0]
            }
            #expect(try row.decode("mailboxes", as: Int.self) == 1)
            #expect(try row.decode("streaming", as: Int.self) == 1)
            #expect(try row.decode("changes_last_hour", as: Int.self) == 1)
            let lagging: Int = try await f.scalar("SELECT count(*) AS v FROM lagging_mailboxes")
            #expect(lagging == 0)  // streaming and freshly synced
            try await statuses.saveStatus([.init(mailboxID: f.mailbox.id, state: "failed", instanceID: "i1")])
            let nowLagging: Int = try await f.scalar("SELECT count(*) AS v FROM lagging_mailboxes")
            #expect(nowLagging == 1)
            // An instance that stopped: its rows read 'stale' (a crash) or, after a clean stop, 'idle'.
            try await statuses.saveStatus([.init(mailboxID: f.mailbox.id, state: "streaming", instanceID: "i1")])
            try await instances.markStopped(holder: holder)
            let stale: String = try await f.scalar("SELECT state AS v FROM mailbox_status_now")
            #expect(stale == "stale")
            #expect(try await f.scalar("SELECT count(*) AS v FROM lagging_mailboxes") as Int == 1)
            try await statuses.markIdle(instanceID: "i1")
            let idle: String = try await f.scalar("SELECT state AS v FROM mailbox_status_now")
            #expect(idle == "idle")
        }
    }

    /// A sync-only mailbox is lagging only when its syncs are late: 'scheduled' (or 'syncing') is
    /// its normal state, unlike a notification-mode mailbox's.
    @Test func aSyncOnlyMailboxLagsOnlyWhenItsSyncsAreLate() async throws {
        try await StoreFixture.with("lag_sync_only") { f in
            var cp = f.checkpoint(state: "S1")
            cp.upserts = [created("i1").0]
            try await CheckpointWriter(pool: f.pool).commit(cp)
            let instances = InstanceRepository(pool: f.pool)
            let statuses = StatusRepository(pool: f.pool)
            try await instances.heartbeat(holder: LeaseHolder(instanceID: "i1", run: "r1"), hostname: "h", pid: 1, version: "v")
            func lagging() async throws -> Int { try await f.scalar("SELECT count(*) AS v FROM lagging_mailboxes") }
            func synced(secondsAgo: Int) async throws {
                try await f.pool.withConnection {
                    try await $0.query("UPDATE folder_sync SET last_sync_at = now() - make_interval(secs => $1)",
                                       [PostgresValue(secondsAgo)], name: "t")
                }
            }
            try await TenantRepository(pool: f.pool).update(
                name: "contoso", { var u = TenantUpdate(); u.syncMode = .syncOnly; u.pollIntervalSeconds = 60; return u }(),
                secret: nil, keyring: f.keyring)
            for stateName in ["scheduled", "syncing"] {
                try await statuses.saveStatus([.init(mailboxID: f.mailbox.id, state: stateName, instanceID: "i1")])
                try await synced(secondsAgo: 170)
                #expect(try await lagging() == 0, "\(stateName), last synced within 2 × 60 s + 60 s")
                try await synced(secondsAgo: 190)
                #expect(try await lagging() == 1, "\(stateName), two polls missed")
            }
            // The mailbox's own interval wins over the tenant's.
            try await f.pool.withConnection {
                try await $0.query("UPDATE mailboxes SET poll_interval_seconds = 600", name: "t")
            }
            #expect(try await lagging() == 0)
            // 'scheduled' means nothing for a notification-mode mailbox: it lags.
            try await f.pool.withConnection { try await $0.query("UPDATE mailboxes SET sync_mode = 'notify'", name: "t") }
            try await synced(secondsAgo: 0)
            #expect(try await lagging() == 1)
            let row = try await f.pool.withConnection {
                try await $0.query("SELECT * FROM tenant_summary WHERE tenant = 'contoso'", name: "t").rows[0]
            }
            #expect(try row.decode("scheduled", as: Int.self) == 0)
            #expect(try row.decode("syncing", as: Int.self) == 1)
            #expect(try row.decode("sync_mode", as: String.self) == "sync-only")
        }
    }
}
