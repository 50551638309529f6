import Foundation
import Testing
@testable import Simulator

/// Choosing dialects: per tenant, at start and at run time, through the library and `/_sim/tenants`.
@Suite struct DialectControlTests {
    func tenants(_ sim: SimFixture) async throws -> [[String: Any]] {
        let response = try await RawHTTP.send(port: sim.port, method: .GET, path: "/_sim/tenants")
        return try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [[String: Any]] ?? []
    }

    @Test func eachTenantShowsAndChangesItsOwnDialect() async throws {
        try await SimFixture.with { sim in
            #expect(try await tenants(sim).map { $0["dialect"] as? String } == ["exchange", "exchange"])
            let changed = try await sim.control(.POST, "/_sim/tenants", json: #"{"name": "tenant2", "dialect": "gromox"}"#)
            #expect(changed["name"] as? String == "tenant2" && changed["dialect"] as? String == "gromox")
            #expect(try await tenants(sim).map { $0["dialect"] as? String } == ["exchange", "gromox"])
            #expect(try sim.world.dialect(tenant: "tenant2") == .gromox)
            #expect(sim.world.tenantInfos(baseURL: "").map(\.dialect) == [.exchange, .gromox])
            // Each tenant answers in its own dialect from its next request on.
            #expect(try await sim.subscribe("user1@tenant2.example", tenant: 1).id == "AQAAAAUAAAA=")
            #expect(try await sim.subscribe("user1@tenant1.example").id.count > 40)
            try sim.world.setDialect(.exchange, tenant: "tenant2")
            #expect(try await sim.subscribe("user1@tenant2.example", tenant: 1).id.count > 40)
        }
    }

    func post(_ sim: SimFixture, _ json: String) async throws -> Int {
        try await RawHTTP.send(port: sim.port, method: .POST, path: "/_sim/tenants",
                               headers: ["Content-Type": "application/json"], body: json).status
    }

    @Test func badChangesAreRefused() async throws {
        try await SimFixture.with { sim in
            let unknownDialect = try await post(sim, #"{"name": "tenant1", "dialect": "lotus"}"#)
            let unknownTenant = try await post(sim, #"{"name": "tenant9", "dialect": "gromox"}"#)
            let noName = try await post(sim, #"{"dialect": "gromox"}"#)
            #expect(unknownDialect == 400 && unknownTenant == 404 && noName == 400)
            #expect(throws: SimError.self) { try sim.world.setDialect(.gromox, tenant: "tenant9") }
        }
    }

    @Test func theConfigurationSetsEveryTenantsStartingDialect() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            let dialects = try await tenants(sim).map { $0["dialect"] as? String }
            #expect(dialects == ["gromox", "gromox"])
        }
    }
}
