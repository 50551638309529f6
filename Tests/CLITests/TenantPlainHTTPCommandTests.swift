import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// `tenant add|update` refuse a URL that is not https:// unless the tenant allows plain http, with
/// one usage error that names the option that allows it; `tenant show` shows the setting.
@Suite(.requiresDatabase) struct TenantPlainHTTPCommandTests {
    static let plainURL = "http://127.0.0.1:1/EWS/Exchange.asmx"
    static let secureURL = "https://ews.contoso.example/EWS/Exchange.asmx"

    static func allowPlainHTTP(_ fx: CLIFixture, _ name: String) throws -> String? {
        let show = try fx.run(["tenant", "show", name, "--format", "json"])
        let rows = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [[String: Any]]
        return rows?.first?["allow_plain_http"] as? String
    }

    @Test func addRefusesAPlainURLUnlessAllowed() async throws {
        try await CLIFixture.with("plain_cli_add") { fx in
            let refused = try fx.addTenant("lab", url: Self.plainURL, allowPlainHTTP: false)
            #expect(refused.status == 64)
            #expect(refused.stderr.contains("tenant lab: --ews-url does not use https://"))
            #expect(refused.stderr.contains("pass --allow-plain-http"))
            #expect(try fx.run(["tenant", "show", "lab"]).status == 65, "nothing was added")

            // oauth2: the token URL carries the client secret, so it is judged too.
            let token = try fx.run(["tenant", "add", "app", "--ews-url", Self.secureURL, "--auth", "oauth2", "--identity", "id",
                                    "--token-url", "http://idp.example/token", "--secret-env", "S"], environment: ["S": "s"])
            #expect(token.status == 64)
            #expect(token.stderr.contains("--token-url does not use https://"))

            #expect(try fx.addTenant("lab", url: Self.plainURL).status == 0)  // the fixture passes --allow-plain-http
            #expect(try Self.allowPlainHTTP(fx, "lab") == "true")
            #expect(try fx.addTenant("secure", url: Self.secureURL, allowPlainHTTP: false).status == 0)
            #expect(try Self.allowPlainHTTP(fx, "secure") == "false")
        }
    }

    @Test func updateJudgesTheTenantAsUpdated() async throws {
        try await CLIFixture.with("plain_cli_update") { fx in
            #expect(try fx.addTenant("contoso", url: Self.secureURL, allowPlainHTTP: false).status == 0)
            let refused = try fx.run(["tenant", "update", "contoso", "--ews-url", Self.plainURL, "--rate", "3"])
            #expect(refused.status == 64)
            #expect(refused.stderr == "ewsfleet: tenant contoso: --ews-url does not use https://, so its basic credential "
                    + "would cross the network unencrypted; use https://, or pass --allow-plain-http to allow it "
                    + "(lab and test servers only)\n")
            let pool = fx.db.pool()
            var row = try await TenantRepository(pool: pool).require(name: "contoso")
            #expect(row.ewsURL == Self.secureURL && row.throttling.requestRate == 20, "nothing changed")

            #expect(try fx.run(["tenant", "update", "contoso", "--ews-url", Self.plainURL, "--allow-plain-http"]).status == 0)
            #expect(try Self.allowPlainHTTP(fx, "contoso") == "true")
            // The permission cannot be taken away while the stored URL still needs it...
            let revoke = try fx.run(["tenant", "update", "contoso", "--no-allow-plain-http"])
            #expect(revoke.status == 64)
            #expect(revoke.stderr.contains("--ews-url does not use https://"))
            // ...but can with an https URL.
            #expect(try fx.run(["tenant", "update", "contoso", "--ews-url", Self.secureURL, "--no-allow-plain-http"]).status == 0)
            row = try await TenantRepository(pool: pool).require(name: "contoso")
            #expect(row.ewsURL == Self.secureURL && !row.allowPlainHTTP)
            await pool.shutdown()
        }
    }

    /// `tenant test` builds the identity the service would: for a row changed by SQL it stops at
    /// the credentials step and sends nothing.
    @Test func testSendsNothingForATenantChangedBehindItsBack() async throws {
        try await TenantCommandTests.withSim { sim, info in
            try await CLIFixture.with("plain_cli_probe") { fx in
                #expect(try fx.addTenant(info.name, url: info.ewsURL, secret: info.password, identity: info.username).status == 0)
                let pool = fx.db.pool()
                _ = try await pool.withConnection {
                    try await $0.query("UPDATE tenants SET allow_plain_http = false WHERE name = $1", [PostgresValue(info.name)],
                                       name: "test.revoke")
                }
                await pool.shutdown()
                let probe = try fx.run(["tenant", "test", info.name, info.mailboxes[0]])
                #expect(probe.status == 77)
                #expect(probe.stderr.contains("credentials failed: tenant \(info.name): ews_url does not use https://"))
                #expect(sim.world.statsSnapshot().requests(tenant: info.name) == 0)
            }
        }
    }
}
