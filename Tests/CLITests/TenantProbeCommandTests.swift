import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// `tenant test` reads what the server says at each step (never only that it answered), and opens
/// a stream, and a grouped one for two mailboxes, to its first heartbeat.
@Suite(.requiresDatabase) struct TenantProbeCommandTests {
    static func steps(_ stdout: String) throws -> [String: (result: String, detail: String)] {
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: String]])
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["step"] ?? "", ($0["result"] ?? "", $0["detail"] ?? "")) })
    }

    @Test func accessDeniedIsAFailureWithExit77NotACheckmark() async throws {
        try await TenantCommandTests.withSim { sim, info in
            try await CLIFixture.with("probe-denied") { fx in
                #expect(try fx.addTenant(info.name, url: info.ewsURL, secret: info.password, identity: info.username).status == 0)
                #expect(try fx.run(["tenant", "update", info.name, "--impersonation", "off"]).status == 0)
                // The service account may no longer open the mailbox (delegate access taken away).
                try sim.world.setAccess(mailbox: info.mailboxes[0], identity: nil, delegate: false, impersonation: nil)
                let denied = try fx.run(["tenant", "test", info.name, info.mailboxes[0], "--format", "json"])
                #expect(denied.status == 77, "\(denied.stderr)")
                #expect(denied.stderr.contains("ErrorAccessDenied"))
                let steps = try Self.steps(denied.stdout)
                #expect(steps["impersonation"]?.result == "FAILED")
                #expect(steps["subscribe"] == nil, "stops at the first failing step")
            }
        }
    }

    @Test(arguments: SimDialect.allCases)
    func twoMailboxesTestAGroupedStream(_ dialect: SimDialect) async throws {
        try await TenantCommandTests.withSim { sim, info in
            try sim.world.setDialect(dialect, tenant: info.name)
            try await CLIFixture.with("probe-grouped-\(dialect.rawValue)") { fx in
                #expect(try fx.addTenant(info.name, url: info.ewsURL, secret: info.password, identity: info.username).status == 0)
                let result = try fx.run(["tenant", "test", info.name, info.mailboxes[0], info.mailboxes[1], "--format", "json"])
                #expect(result.status == 0, "\(result.stderr)")
                let steps = try Self.steps(result.stdout)
                #expect(steps["stream"]?.result == "ok")
                switch dialect {
                case .exchange:
                    #expect(steps["grouped_stream"]?.result == "ok")
                case .gromox:
                    // gromox binds a subscription to the impersonated user: ewsfleet will not group.
                    #expect(steps["grouped_stream"]?.result == "warning")
                    #expect(steps["grouped_stream"]?.detail.contains("per_mailbox") == true)
                }
                #expect(steps["unsubscribe"]?.result == "ok")
            }
        }
    }
}
