import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import EWSFleetCLI
import Metrics
import Prometheus
import Store
import TestSupport
import Testing

@Suite struct MetricsServerTests {
    func get(_ url: String) async throws -> (status: Int, body: String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test(.requiresDatabase) func metricsAndHealthzOnAnEphemeralPort() async throws {
        try await TestDatabase.withFresh("metrics") { db in
            let pool = db.pool()
            _ = try await Migrator(pool: pool).migrate()
            let tenant = try await TenantRepository(pool: pool).add(
                NewTenant(name: "contoso", ewsURL: "http://127.0.0.1:1/EWS/Exchange.asmx", authKind: .basic, identity: "svc",
                          allowPlainHTTP: true),
                secret: nil, keyring: SecretKeyring(current: nil))
            _ = try await MailboxRepository(pool: pool).add(tenant: tenant.name, smtpAddress: "a@contoso.com", watch: .default)
            _ = try await MailboxRepository(pool: pool).add(tenant: tenant.name, smtpAddress: "b@contoso.com", watch: .default)

            let registry = PrometheusCollectorRegistry()
            let health = FleetHealth(pool: pool, factory: PrometheusMetricsFactory(registry: registry))
            let server = MetricsServer(host: "127.0.0.1", port: 0, route: MetricsEndpoint.route(registry: registry, health: health))
            let port = try await server.start()
            let base = "http://127.0.0.1:\(port)"

            // Not running yet: 503.
            #expect(try await get("\(base)/healthz").status == 503)
            health.markRunning(true)
            let healthz = try await get("\(base)/healthz")
            #expect(healthz.status == 200)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(healthz.body.utf8)) as? [String: Any])
            let counts = try #require(object["mailboxes"] as? [String: Int])
            #expect(counts["idle"] == 2)
            #expect(counts["streaming"] == 0)

            let metrics = try await get("\(base)/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.body.contains(#"ewsf_mailboxes{state="idle"} 2"#))
            #expect(metrics.body.contains("ewsf_healthy 1"))
            #expect(try await get("\(base)/nope").status == 404)

            // Database gone: 503 with the reason.
            await pool.shutdown()
            let down = try await get("\(base)/healthz")
            #expect(down.status == 503)
            #expect(down.body.contains("database unreachable"))
            await server.stop()
        }
    }
}
