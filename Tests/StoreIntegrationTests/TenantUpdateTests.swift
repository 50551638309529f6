import Foundation
@testable import Store
import TestSupport
import Testing
import Support

/// `tenant update` writes the new settings and, in the same transaction, forgets what the old
/// settings learnt from the server and the new ones cannot use (see `TenantReload`).
@Suite(.requiresDatabase) struct TenantUpdateTests {
    /// A subscription row and a synced folder with its EWS id, as a running tenant leaves them.
    static func seedServerState(_ f: StoreFixture, _ lease: LeaseToken) async throws {
        try await SubscriptionRepository(pool: f.pool).saveSubscription(
            .init(mailboxID: f.mailbox.id, subscriptionID: "sub-1", groupKey: "srv1", anchorMailbox: f.mailbox.smtpAddress,
                  affinityCookie: nil), lease: lease)
        try await FolderRepository(pool: f.pool).saveFolderIDs(mailboxID: f.mailbox.id, ["inbox": "ews-inbox-id"], lease: lease)
        _ = try await CheckpointWriter(pool: f.pool).commit(f.checkpoint(state: "S\(UUID())", lease: lease))
    }

    static func lease(_ f: StoreFixture) async throws -> LeaseToken {
        try #require(try await LeaseRepository(pool: f.pool).acquire(tenantID: f.tenant.id, instanceID: "test", ttl: .seconds(600)))
    }

    /// (subscriptions, non-empty sync states, EWS folder ids) left for the mailbox.
    static func serverState(_ f: StoreFixture) async throws -> [Int] {
        [
            try await f.scalar("SELECT count(*)::int AS v FROM subscriptions"),
            try await f.scalar("SELECT count(*)::int AS v FROM folder_sync WHERE sync_state <> ''"),
            try await f.scalar("SELECT count(*)::int AS v FROM folder_sync WHERE ews_folder_id IS NOT NULL"),
        ]
    }

    @Test func whatEachChangeForgets() async throws {
        try await StoreFixture.with("tenant_update_forgets") { f in
            let repo = TenantRepository(pool: f.pool)
            func update(secret: String? = nil, _ change: (inout TenantUpdate) -> Void) async throws -> Tenant {
                var u = TenantUpdate()
                change(&u)
                return try await repo.update(name: "contoso", u, secret: secret.map { Secret($0) }, keyring: f.keyring)
            }
            let lease = try await Self.lease(f)
            try await Self.seedServerState(f, lease)
            #expect(try await Self.serverState(f) == [1, 1, 1])
            // Secret, throttling and TLS keep everything: the next runtime starts warm.
            var row = try await update(secret: "new-pw") { $0.requestRate = 5; $0.caBundle = "/etc/ewsfleet/ca.pem"; $0.insecureTLS = true }
            #expect(row.throttling.requestRate == 5 && row.caBundle == "/etc/ewsfleet/ca.pem" && row.insecureTLS)
            #expect(try await Self.serverState(f) == [1, 1, 1])
            // "" goes back to the system's CAs.
            row = try await update { $0.caBundle = ""; $0.insecureTLS = false }
            #expect(row.caBundle == nil && !row.insecureTLS)
            // Another account forgets the subscriptions only.
            row = try await update { $0.authKind = .ntlm }
            #expect(row.authKind == .ntlm)
            #expect(try await Self.serverState(f) == [0, 1, 1])
            try await Self.seedServerState(f, lease)
            _ = try await update { $0.impersonation = false }
            #expect(try await Self.serverState(f) == [0, 1, 1])
            // Another URL may be another server: SyncStates and folder ids go too; the mirror stays.
            try await Self.seedServerState(f, lease)
            _ = try await update { $0.ewsURL = "https://ews2.contoso.example/EWS/Exchange.asmx" }
            #expect(try await Self.serverState(f) == [0, 0, 0])
            #expect(try await f.scalar("SELECT count(*)::int AS v FROM folder_sync") == 1, "the folder row stays, reset")
        }
    }

    @Test func switchingToOAuth2NeedsATokenURLAndGetsTheDefaultScope() async throws {
        try await StoreFixture.with("tenant_update_oauth") { f in
            let repo = TenantRepository(pool: f.pool)
            try await Self.seedServerState(f, try await Self.lease(f))
            var u = TenantUpdate()
            u.authKind = .oauth2
            await #expect(throws: StoreError.self) { try await repo.update(name: "contoso", u, secret: nil, keyring: f.keyring) }
            #expect(try await repo.require(name: "contoso").authKind == .basic)
            #expect(try await Self.serverState(f) == [1, 1, 1], "a refused update forgets nothing")
            u.tokenURL = "https://login.example/tenant/oauth2/v2.0/token"
            u.identity = "client-id"
            let row = try await repo.update(name: "contoso", u, secret: Secret("client-secret"), keyring: f.keyring)
            #expect(row.authKind == .oauth2 && row.scope == NewTenant.defaultOAuthScope && row.identity == "client-id")
            #expect(try await Self.serverState(f) == [0, 1, 1])
        }
    }
}
