import Foundation
import Simulator
import TestSupport
import Testing

/// An OAuth2 tenant behind a private CA: the token request trusts the tenant's `--ca-bundle` (and
/// obeys `--insecure`) exactly as its EWS calls do.
@Suite(.requiresDatabase) struct TenantOAuth2TLSCommandTests {
    /// ews-sim over TLS, with the CA it generated in a file, and its one tenant.
    static func withTLSSim<T: Sendable>(_ body: (String, SimWorld.TenantInfo) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ewsf-oauth2-tls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = SimConfiguration()
        configuration.tenants = 1
        configuration.mailboxesPerTenant = 1
        configuration.itemsPerMailbox = 1
        configuration.heartbeat = .seconds(1)
        configuration.tls = true
        configuration.tlsCAPath = directory.appendingPathComponent("ca.pem").path
        let sim = try SimulatorServer(configuration: configuration)
        let port = try await sim.start()
        let info = sim.world.tenantInfos(baseURL: "https://127.0.0.1:\(port)")[0]
        do {
            let result = try await body(try #require(sim.caFile), info)
            try await sim.shutdown()
            return result
        } catch {
            try? await sim.shutdown()
            throw error
        }
    }

    static func addOAuth2(_ fx: CLIFixture, _ name: String, _ info: SimWorld.TenantInfo, _ tls: [String]) throws -> CommandResult {
        try fx.run(["tenant", "add", name, "--ews-url", info.ewsURL, "--auth", "oauth2", "--identity", info.clientId,
                    "--token-url", info.tokenURL, "--secret-env", "CLIENT_SECRET"] + tls,
                   environment: ["CLIENT_SECRET": info.clientSecret])
    }

    @Test func theTokenRequestUsesTheTenantsCABundleAndInsecureSwitch() async throws {
        try await Self.withTLSSim { caFile, info in
            #expect(info.tokenURL.hasPrefix("https://") && info.ewsURL.hasPrefix("https://"))
            try await CLIFixture.with("oauth2_tls") { fx in
                #expect(try Self.addOAuth2(fx, "private-ca", info, ["--ca-bundle", caFile]).status == 0)
                let trusted = try fx.run(["tenant", "test", "private-ca", info.mailboxes[0], "--format", "json"])
                #expect(trusted.status == 0, "\(trusted.stderr)")

                #expect(try Self.addOAuth2(fx, "lab", info, ["--insecure"]).status == 0)
                let insecure = try fx.run(["tenant", "test", "lab", info.mailboxes[0], "--format", "json"])
                #expect(insecure.status == 0, "\(insecure.stderr)")

                // Without the CA the token request is the first to fail, with a TLS error (not a
                // refused secret): curl 60, the certificate that could not be verified.
                #expect(try Self.addOAuth2(fx, "system-store", info, []).status == 0)
                let untrusted = try fx.run(["tenant", "test", "system-store", info.mailboxes[0]])
                #expect(untrusted.status == 69, "\(untrusted.stderr)")
                #expect(untrusted.stderr.contains("HTTPError(tls, curl 60): token request failed"))
                #expect(untrusted.stderr.contains("certificate"))
                #expect(!untrusted.stderr.contains(info.clientSecret))
            }
        }
    }
}
