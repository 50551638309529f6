import Foundation
import Simulator
import Store
import TestSupport
import Testing

@Suite struct TenantCommandTests {
    /// An in-process ews-sim with one Basic-auth tenant of two mailboxes.
    static func withSim<T: Sendable>(_ body: (SimulatorServer, SimWorld.TenantInfo) async throws -> T) async throws -> T {
        var configuration = SimConfiguration()
        configuration.tenants = 1
        configuration.mailboxesPerTenant = 2
        configuration.itemsPerMailbox = 1
        configuration.heartbeat = .seconds(1)
        let sim = try SimulatorServer(configuration: configuration)
        let port = try await sim.start()
        let info = sim.world.tenantInfos(baseURL: "http://127.0.0.1:\(port)")[0]
        do {
            let result = try await body(sim, info)
            try await sim.shutdown()
            return result
        } catch {
            try? await sim.shutdown()
            throw error
        }
    }

    @Test(.requiresDatabase) func testReportsEachStepAndMapsFailuresToExitCodes() async throws {
        try await Self.withSim { _, info in
            try await CLIFixture.with("tenanttest") { fx in
                #expect(try fx.addTenant(info.name, url: info.ewsURL, secret: info.password, identity: info.username).status == 0)
                let ok = try fx.run(["tenant", "test", info.name, info.mailboxes[0], "--format", "json"])
                #expect(ok.status == 0, "\(ok.stderr)")
                let steps = try #require(try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [[String: Any]])
                #expect(steps.compactMap { $0["step"] as? String }
                        == ["credentials", "reachable", "authentication", "impersonation", "subscribe", "stream", "unsubscribe"])
                #expect(steps.allSatisfy { $0["result"] as? String == "ok" })

                // Wrong secret: authentication refused, exit 77, one line on stderr.
                #expect(try fx.addTenant("wrongpw", url: info.ewsURL, secret: "not-the-password", identity: info.username).status == 0)
                let wrong = try fx.run(["tenant", "test", "wrongpw", info.mailboxes[0]])
                #expect(wrong.status == 77)
                #expect(wrong.stderr.split(separator: "\n").count == 1)
                #expect(wrong.stderr.contains("authentication failed"))
                #expect(!wrong.stderr.contains("not-the-password"))

                // Unreachable URL: exit 69.
                #expect(try fx.addTenant("gone", url: "http://127.0.0.1:1/EWS/Exchange.asmx").status == 0)
                let gone = try fx.run(["tenant", "test", "gone", "a@gone.example", "--timeout", "3"])
                #expect(gone.status == 69)
                #expect(gone.stderr.contains("reachable failed"))

                // Unknown tenant and invalid address: exit 65.
                #expect(try fx.run(["tenant", "test", "nope", "a@b.example"]).status == 65)
                #expect(try fx.run(["tenant", "test", info.name, "not-an-address"]).status == 65)
            }
        }
    }

    @Test(.requiresDatabase) func showUpdateRemove() async throws {
        try await CLIFixture.with("tenantcrud") { fx in
            #expect(try fx.addTenant("contoso", secret: "first-secret").status == 0)
            let show = try fx.run(["tenant", "show", "contoso", "--format", "json"])
            #expect(show.status == 0)
            #expect(show.stdout.contains("\"max_concurrent_requests\" : \"10\""))
            #expect(!show.stdout.contains("first-secret"))

            let update = try fx.run(["tenant", "update", "contoso", "--max-concurrent", "4", "--impersonation", "off",
                                     "--secret-env", "NEW_SECRET"], environment: ["NEW_SECRET": "second-secret"])
            #expect(update.status == 0, "\(update.stderr)")
            let pool = fx.db.pool()
            let tenant = try #require(try await TenantRepository(pool: pool).find(name: "contoso"))
            #expect(tenant.throttling.maxConcurrentRequests == 4)
            #expect(tenant.impersonation == false)
            let keyring = SecretKeyring(current: try SecretKey(base64: fx.key))
            #expect(try keyring.open(try #require(tenant.sealedSecret), tenant: "contoso").unredactedValue == "second-secret")

            // Auth kind and TLS settings: the same names as `tenant add`; "" goes back to the system's CAs.
            let tls = try fx.run(["tenant", "update", "contoso", "--auth", "ntlm", "--ca-bundle", "/etc/ewsfleet/ca.pem",
                                  "--insecure"])
            #expect(tls.status == 0, "\(tls.stderr)")
            var row = try #require(try await TenantRepository(pool: pool).find(name: "contoso"))
            #expect(row.authKind == .ntlm && row.caBundle == "/etc/ewsfleet/ca.pem" && row.insecureTLS)
            #expect(try fx.run(["tenant", "update", "contoso", "--ca-bundle", "", "--no-insecure"]).status == 0)
            row = try #require(try await TenantRepository(pool: pool).find(name: "contoso"))
            #expect(row.caBundle == nil && !row.insecureTLS)
            let noTokenURL = try fx.run(["tenant", "update", "contoso", "--auth", "oauth2"])
            #expect(noTokenURL.status == 65, "\(noTokenURL.stderr)")
            #expect(noTokenURL.stderr.contains("oauth2 needs a token URL"))

            #expect(try fx.run(["tenant", "update", "contoso"]).status == 64)   // nothing to update
            let unknown = try fx.run(["tenant", "update", "nope", "--rate", "3"])
            #expect(unknown.status == 65)
            #expect(unknown.stderr == "ewsfleet: unknown tenant nope\n")

            #expect(try fx.run(["tenant", "remove", "contoso"]).status == 0)
            #expect(try await TenantRepository(pool: pool).find(name: "contoso") == nil)
            #expect(try fx.run(["tenant", "remove", "contoso"]).status == 65)
            await pool.shutdown()
        }
    }

    @Test func aDatabaseThatIsDownIsExit69ForEveryCommand() throws {
        let env = ["EWSFLEET_DATABASE_URL": "postgres://postgres@127.0.0.1:1/ewsfleet"]
        for arguments in [["tenant", "list"], ["mailbox", "add", "contoso", "a@contoso.com"], ["status"],
                          ["changes", "tail"], ["secrets", "rotate"], ["tenant", "show", "contoso"]] {
            let result = try CommandRunner.run("ewsfleet", arguments, environment: env)
            #expect(result.status == 69, "\(arguments)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments)")
            #expect(result.stdout.isEmpty)
        }
    }
}
