import Foundation
import Store
import TestSupport
import Testing

/// `--filter` on `mailbox add|update`: stored in canonical form, listed, removed with `none`; a
/// bad expression is one usage error that changes nothing.
@Suite struct FilterCommandTests {
    @Test(.requiresDatabase) func aFilterIsSetListedChangedAndRemoved() async throws {
        try await CLIFixture.with("filter") { fx in
            #expect(try fx.addTenant("contoso").status == 0)
            let add = try fx.run(["mailbox", "add", "contoso", "a@contoso.com", "--filter",
                                  "FROM-DOMAIN:Vendor.Example  AND importance:HIGH"])
            #expect(add.status == 0, "\(add.stderr)")
            let pool = fx.db.pool()
            var mailbox = try #require(try await MailboxRepository(pool: pool).find(tenant: "contoso", smtpAddress: "a@contoso.com"))
            #expect(mailbox.filter?.description == "from-domain:vendor.example and importance:high")
            let list = try fx.run(["mailbox", "list", "--format", "json"])
            #expect(list.stdout.contains("\"filter\" : \"from-domain:vendor.example and importance:high\""), "\(list.stdout)")

            let bad = try fx.run(["mailbox", "update", "contoso", "a@contoso.com", "--filter", "importance:urgent"])
            #expect(bad.status == 64)
            #expect(bad.stderr.contains("importance is low, normal or high"), "\(bad.stderr)")
            mailbox = try #require(try await MailboxRepository(pool: pool).find(tenant: "contoso", smtpAddress: "a@contoso.com"))
            #expect(mailbox.filter?.description == "from-domain:vendor.example and importance:high", "unchanged")

            #expect(try fx.run(["mailbox", "update", "contoso", "a@contoso.com", "--filter", "category:vendor"]).status == 0)
            mailbox = try #require(try await MailboxRepository(pool: pool).find(tenant: "contoso", smtpAddress: "a@contoso.com"))
            #expect(mailbox.filter?.description == "category:vendor")
            #expect(try fx.run(["mailbox", "update", "contoso", "a@contoso.com", "--filter", "none"]).status == 0)
            mailbox = try #require(try await MailboxRepository(pool: pool).find(tenant: "contoso", smtpAddress: "a@contoso.com"))
            #expect(mailbox.filter == nil)
            await pool.shutdown()
        }
    }

    @Test func aBadFilterIsAUsageErrorBeforeTheDatabase() throws {
        let result = try CommandRunner.run("ewsfleet", ["mailbox", "add", "contoso", "a@contoso.com", "--filter", "(importance:high"],
                                           environment: ["EWSFLEET_DATABASE_URL": "postgres://postgres@127.0.0.1:1/ewsfleet"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("not closed"))
    }
}
