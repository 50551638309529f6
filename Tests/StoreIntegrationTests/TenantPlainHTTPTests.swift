import Foundation
@testable import Store
import TestSupport
import Testing
import Support

/// The store never writes a tenant that would send its credential over plain http without the
/// tenant's permission, and migration 6 grants that permission to the tenants that use it today.
@Suite(.requiresDatabase) struct TenantPlainHTTPTests {
    static let plainURL = "http://ews.lab.example/EWS/Exchange.asmx"

    @Test func addNeedsThePermissionForAPlainURLAndStoresIt() async throws {
        try await StoreFixture.with("plain_add") { f in
            let repo = TenantRepository(pool: f.pool)
            var new = NewTenant(name: "lab", ewsURL: Self.plainURL, authKind: .basic, identity: "svc")
            await #expect(throws: PlainHTTPRefusal(tenant: "lab", authKind: .basic, endpoints: [.ews])) {
                try await repo.add(new, secret: Secret("pw"), keyring: f.keyring)
            }
            #expect(try await repo.find(name: "lab") == nil)
            new.allowPlainHTTP = true
            let added = try await repo.add(new, secret: Secret("pw"), keyring: f.keyring)
            #expect(added.allowPlainHTTP)
            #expect(try await repo.require(name: "lab").allowPlainHTTP)
            #expect(try await repo.require(name: "contoso").allowPlainHTTP == false)
        }
    }

    @Test func updateJudgesTheRowAsUpdatedAndChangesNothingWhenRefused() async throws {
        try await StoreFixture.with("plain_update") { f in
            let repo = TenantRepository(pool: f.pool)
            func update(_ change: (inout TenantUpdate) -> Void) async throws -> Tenant {
                var u = TenantUpdate()
                change(&u)
                return try await repo.update(name: "contoso", u, secret: nil, keyring: f.keyring)
            }
            // A plain URL without the permission: refused, and the rate given with it is not applied.
            await #expect(throws: PlainHTTPRefusal.self) {
                try await update { $0.ewsURL = Self.plainURL; $0.requestRate = 3 }
            }
            var row = try await repo.require(name: "contoso")
            #expect(row.ewsURL == "https://ews.contoso.example/EWS/Exchange.asmx" && row.throttling.requestRate == 20)

            row = try await update { $0.ewsURL = Self.plainURL; $0.allowPlainHTTP = true }
            #expect(row.ewsURL == Self.plainURL && row.allowPlainHTTP)
            // Taking the permission away from a tenant that still uses plain http: refused.
            await #expect(throws: PlainHTTPRefusal.self) { try await update { $0.allowPlainHTTP = false } }
            #expect(try await repo.require(name: "contoso").allowPlainHTTP)
            // With an https URL in the same update it is fine.
            row = try await update { $0.ewsURL = "https://ews.contoso.example/EWS/Exchange.asmx"; $0.allowPlainHTTP = false }
            #expect(!row.allowPlainHTTP)
        }
    }

    @Test func aDisabledTenantSendsNothingAndSoMayHoldAPlainURL() async throws {
        try await StoreFixture.with("plain_disabled") { f in
            let repo = TenantRepository(pool: f.pool)
            // A row changed by SQL, behind the CLI's back.
            _ = try await f.pool.withConnection {
                try await $0.execute("UPDATE tenants SET ews_url = '\(Self.plainURL)' WHERE name = 'contoso'", name: "t")
            }
            var disable = TenantUpdate()
            disable.state = .disabled
            #expect(try await repo.update(name: "contoso", disable, secret: nil, keyring: f.keyring).state == .disabled)
            var rate = TenantUpdate()
            rate.requestRate = 5
            #expect(try await repo.update(name: "contoso", rate, secret: nil, keyring: f.keyring).throttling.requestRate == 5)
            // Back to active only with the permission (or an https URL).
            var activate = TenantUpdate()
            activate.state = .active
            await #expect(throws: PlainHTTPRefusal.self) {
                try await repo.update(name: "contoso", activate, secret: nil, keyring: f.keyring)
            }
            activate.allowPlainHTTP = true
            #expect(try await repo.update(name: "contoso", activate, secret: nil, keyring: f.keyring).state == .active)
        }
    }

    /// The service disables a refused tenant only while the row still says what it was judged on:
    /// an operator's fix that lands in between is never overwritten.
    @Test func disableRefusedNeverOverwritesAFix() async throws {
        try await StoreFixture.with("plain_refused") { f in
            let repo = TenantRepository(pool: f.pool)
            func sql(_ text: String) async throws {
                _ = try await f.pool.withConnection { try await $0.execute(text, name: "t") }
            }
            try await sql("UPDATE tenants SET ews_url = '\(Self.plainURL)' WHERE name = 'contoso'")
            let judged = try await repo.require(name: "contoso")
            #expect(judged.plainHTTPRefusal != nil)

            try await sql("UPDATE tenants SET allow_plain_http = true WHERE name = 'contoso'")  // the fix lands first
            #expect(try await repo.disableRefused(judged, reason: "refused") == false)
            try await sql("UPDATE tenants SET allow_plain_http = false, ews_url = 'https://other.example/EWS/Exchange.asmx' WHERE name = 'contoso'")
            #expect(try await repo.disableRefused(judged, reason: "refused") == false)
            #expect(try await repo.require(name: "contoso").state == .active)

            try await sql("UPDATE tenants SET ews_url = '\(Self.plainURL)' WHERE name = 'contoso'")
            #expect(try await repo.disableRefused(judged, reason: "refused") == true)
            let row = try await repo.require(name: "contoso")
            #expect(row.state == .disabled && row.stateReason == "refused")
        }
    }

    @Test func migration6AllowsPlainHTTPExactlyWhereTenantsUseItToday() async throws {
        try await TestDatabase.withFresh("migrate_plain_http") { database in
            let pool = database.pool()
            try await Migrator(pool: pool, migrations: try Migration.bundled.filter { $0.version < 6 }).migrate()
            _ = try await pool.withConnection {
                try await $0.execute("""
                    INSERT INTO tenants (name, ews_url, autodiscover_url, auth_kind, identity, token_url, scope) VALUES
                      ('secure', 'https://a.example/EWS/Exchange.asmx', 'https://a.example/autodiscover/autodiscover.svc',
                       'basic', 'u', NULL, NULL),
                      ('plain-ews', 'http://b.example/EWS/Exchange.asmx', NULL, 'ntlm', 'u', NULL, NULL),
                      ('plain-autodiscover', 'https://c.example/EWS/Exchange.asmx',
                       'http://c.example/autodiscover/autodiscover.svc', 'negotiate', 'u', NULL, NULL),
                      ('plain-token', 'https://d.example/EWS/Exchange.asmx', NULL, 'oauth2', 'app', 'http://idp.example/token', 's'),
                      ('unused-token', 'https://e.example/EWS/Exchange.asmx', NULL, 'basic', 'u', 'http://idp.example/token', NULL)
                    """, name: "t")
            }
            #expect(try await Migrator(pool: pool, migrations: try Migration.bundled.filter { $0.version <= 6 }).migrate().applied == [6])
            let allowed = try await pool.withConnection {
                try await $0.query("SELECT name FROM tenants WHERE allow_plain_http ORDER BY name", name: "t")
                    .rows.map { try $0.decode("name", as: String.self) }
            }
            #expect(allowed == ["plain-autodiscover", "plain-ews", "plain-token"])
            // What the migration allowed is exactly what the rule would refuse otherwise (read with
            // today's repository, so on today's schema).
            try await Migrator(pool: pool).migrate()
            for tenant in try await TenantRepository(pool: pool).list() {
                var judged = tenant
                judged.allowPlainHTTP = false
                #expect((judged.plainHTTPRefusal != nil) == tenant.allowPlainHTTP, "\(tenant.name)")
            }
            await pool.shutdown()
        }
    }
}
