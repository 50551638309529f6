import Foundation
import Store
import TestSupport
import Testing

/// `--mode` and `--poll-interval` on `tenant add|update` and `mailbox add`.
@Suite struct SyncModeCommandTests {
    @Test(.requiresDatabase) func modeAndPollIntervalAreSetPerTenantAndOverriddenPerMailbox() async throws {
        try await CLIFixture.with("syncmode") { fx in
            let add = try fx.run(["tenant", "add", "contoso", "--ews-url", "http://127.0.0.1:1/EWS/Exchange.asmx",
                                  "--auth", "basic", "--identity", "svc", "--secret-stdin", "--allow-plain-http",
                                  "--mode", "sync-only", "--poll-interval", "5m"], stdin: Data("pw".utf8))
            #expect(add.status == 0, "\(add.stderr)")
            let pool = fx.db.pool()
            var tenant = try #require(try await TenantRepository(pool: pool).find(name: "contoso"))
            #expect(tenant.syncMode == .syncOnly && tenant.pollIntervalSeconds == 300)
            let show = try fx.run(["tenant", "show", "contoso", "--format", "json"])
            #expect(show.stdout.contains("\"sync_mode\" : \"sync-only\"") && show.stdout.contains("\"poll_interval_seconds\" : \"300\""))

            #expect(try fx.run(["tenant", "update", "contoso", "--mode", "notify", "--poll-interval", "90"]).status == 0)
            tenant = try #require(try await TenantRepository(pool: pool).find(name: "contoso"))
            #expect(tenant.syncMode == .notify && tenant.pollIntervalSeconds == 90)

            #expect(try fx.run(["mailbox", "add", "contoso", "a@contoso.com", "--mode", "sync-only", "--poll-interval", "1h"]).status == 0)
            #expect(try fx.run(["mailbox", "add", "contoso", "b@contoso.com"]).status == 0)
            let a = try #require(try await MailboxRepository(pool: pool).find(tenant: "contoso", smtpAddress: "a@contoso.com"))
            let b = try #require(try await MailboxRepository(pool: pool).find(tenant: "contoso", smtpAddress: "b@contoso.com"))
            #expect(a.effectiveMode(in: tenant) == .syncOnly && a.effectivePollInterval(in: tenant) == 3600)
            #expect(b.syncMode == nil && b.effectiveMode(in: tenant) == .notify && b.effectivePollInterval(in: tenant) == 90)
            let list = try fx.run(["mailbox", "list", "--format", "json"])
            #expect(list.stdout.contains("\"mode\" : \"sync-only\"") && list.stdout.contains("\"mode\" : \"tenant\""))
            await pool.shutdown()
        }
    }

    @Test(.requiresDatabase) func startNowIsSetByAddAndImport() async throws {
        try await CLIFixture.with("startnow") { fx in
            #expect(try fx.addTenant("contoso").status == 0)
            #expect(try fx.run(["mailbox", "add", "contoso", "a@contoso.com", "--start", "now"]).status == 0)
            #expect(try fx.run(["mailbox", "add", "contoso", "b@contoso.com"]).status == 0)
            let imported = try fx.run(["mailbox", "import", "-", "--start", "now"], stdin: Data("contoso,c@contoso.com,\n".utf8))
            #expect(imported.status == 0, "\(imported.stderr)")
            let pool = fx.db.pool()
            let starts = Dictionary(uniqueKeysWithValues: try await MailboxRepository(pool: pool).list().map { ($0.smtpAddress, $0.start) })
            #expect(starts == ["a@contoso.com": .now, "b@contoso.com": .backfill, "c@contoso.com": .now])
            #expect(try fx.run(["mailbox", "add", "contoso", "d@contoso.com", "--start", "later"]).status == 64)
            await pool.shutdown()
        }
    }

    @Test(arguments: ["0", "5s", "25h", "1x", "-60", "", "99999999999999h"])
    func anIntervalOutsideTenSecondsToADayIsAUsageError(interval: String) throws {
        let result = try CommandRunner.run("ewsfleet", ["tenant", "update", "contoso", "--poll-interval", interval],
                                           environment: ["EWSFLEET_DATABASE_URL": "postgres://postgres@127.0.0.1:1/ewsfleet"])
        #expect(result.status == 64, "\(interval): \(result.stderr)")
        #expect(result.stderr.contains("poll-interval"))
    }

    @Test func anUnknownModeIsAUsageError() throws {
        let result = try CommandRunner.run("ewsfleet", ["mailbox", "add", "contoso", "a@contoso.com", "--mode", "push"],
                                           environment: ["EWSFLEET_DATABASE_URL": "postgres://postgres@127.0.0.1:1/ewsfleet"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("mode"))
    }
}
