import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// A tenant row changed behind the CLI's back so that its credential would go over plain http
/// without its permission: the service never sends it, disables the tenant and says why.
@Suite(.requiresDatabase) struct SupervisorPlainHTTPTests {
    @Test func theServiceDisablesATenantThatWouldSendItsCredentialOverPlainHTTP() async throws {
        try await FleetFixture.with("plainhttp") { f in
            try await f.addAll()
            let refused = f.tenants[0], running = f.tenants[1]
            let repo = TenantRepository(pool: f.pool)
            func revokePermission(_ tenant: String) async throws {
                _ = try await f.pool.withConnection {
                    try await $0.query("UPDATE tenants SET allow_plain_http = false WHERE name = $1", [PostgresValue(tenant)],
                                       name: "test.revoke")
                }
            }
            func streaming(_ tenant: String) async throws -> Int {
                try await f.count("""
                    SELECT count(*) AS n FROM mailbox_status s JOIN mailboxes m ON m.id = s.mailbox_id
                      JOIN tenants t ON t.id = m.tenant_id WHERE t.name = $1 AND s.state = 'streaming'
                    """, [PostgresValue(tenant)])
            }
            func requests(_ tenant: String) -> Int { f.sim.world.statsSnapshot().requests(tenant: tenant) }

            // Before the service starts: the simulator's URLs are http://, and the permission is gone.
            try await revokePermission(refused.name)
            let fleet = f.startSupervisor(leaseTTL: .seconds(3))
            try await f.waitUntil("the refused tenant is disabled") { try await repo.require(name: refused.name).state == .disabled }
            #expect(try await repo.require(name: refused.name).stateReason
                    == "ewsfleet refused to run it: ews_url and autodiscover_url do not use https://, so its basic credential "
                    + "would cross the network unencrypted; use https://, or allow plain http (lab and test servers only): "
                    + "ewsfleet tenant update \(refused.name) --allow-plain-http --state active")
            try await f.waitUntil("the other tenant streams") { try await streaming(running.name) == running.mailboxes.count }
            #expect(requests(refused.name) == 0, "its credential was never sent")

            // While it runs: the tenant stops, closes its streams and sends nothing more.
            try await revokePermission(running.name)
            try await f.waitUntil("the running tenant is disabled") { try await repo.require(name: running.name).state == .disabled }
            try await f.waitUntil("its streams are closed") { f.sim.world.statsSnapshot().openStreams == 0 }
            let sent = requests(running.name)
            _ = try f.sim.world.deliver(mailbox: running.mailboxes[0], count: 1)
            try await Task.sleep(for: .seconds(2))
            #expect(requests(running.name) == sent)

            // The command the reason names brings it back.
            var fix = TenantUpdate()
            fix.allowPlainHTTP = true
            fix.state = .active
            try await repo.update(name: refused.name, fix, secret: nil, keyring: f.keyring)
            try await f.waitUntil("the allowed tenant streams") { try await streaming(refused.name) == refused.mailboxes.count }
            await fleet.stop()
        }
    }
}
