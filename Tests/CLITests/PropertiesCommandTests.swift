import Foundation
import Store
import TestSupport
import Testing

/// `--properties` on `tenant add|update`: stored in its canonical spelling, shown by `tenant show`.
@Suite struct PropertiesCommandTests {
    @Test(.requiresDatabase) func aProfileIsSetByAddAndChangedByUpdate() async throws {
        try await CLIFixture.with("properties") { fx in
            let add = try fx.run(["tenant", "add", "contoso", "--ews-url", "http://127.0.0.1:1/EWS/Exchange.asmx",
                                  "--auth", "basic", "--identity", "svc", "--secret-stdin", "--allow-plain-http",
                                  "--properties", "body_preview,extended"], stdin: Data("pw".utf8))
            #expect(add.status == 0, "\(add.stderr)")
            let pool = fx.db.pool()
            var tenant = try #require(try await TenantRepository(pool: pool).find(name: "contoso"))
            #expect(tenant.itemProperties.spec == "extended,body_preview")
            let show = try fx.run(["tenant", "show", "contoso", "--format", "json"])
            #expect(show.stdout.contains("\"item_properties\" : \"extended,body_preview\""), "\(show.stdout)")

            #expect(try fx.run(["tenant", "update", "contoso", "--properties", "default"]).status == 0)
            tenant = try #require(try await TenantRepository(pool: pool).find(name: "contoso"))
            #expect(tenant.itemProperties == .default)

            // An unknown field is one usage error that names the known ones, and changes nothing.
            let bad = try fx.run(["tenant", "update", "contoso", "--properties", "subject,body"])
            #expect(bad.status == 64)
            #expect(bad.stderr.contains("unknown property body") && bad.stderr.contains("body_preview"), "\(bad.stderr)")
            #expect(try await TenantRepository(pool: pool).find(name: "contoso")?.itemProperties == .default)
            #expect(try fx.addTenant("fabrikam").status == 0)
            #expect(try await TenantRepository(pool: pool).find(name: "fabrikam")?.itemProperties == .default, "the default")
            await pool.shutdown()
        }
    }

    /// `--calendar-window` likewise: stored canonically, shown, a bad one a usage error that changes nothing.
    @Test(.requiresDatabase) func aCalendarWindowIsSetByAddAndChangedByUpdate() async throws {
        try await CLIFixture.with("calwindow") { fx in
            let add = try fx.run(["tenant", "add", "contoso", "--ews-url", "http://127.0.0.1:1/EWS/Exchange.asmx",
                                  "--auth", "basic", "--identity", "svc", "--secret-stdin", "--allow-plain-http",
                                  "--calendar-window", "7,90d"], stdin: Data("pw".utf8))
            #expect(add.status == 0, "\(add.stderr)")
            let pool = fx.db.pool()
            #expect(try await TenantRepository(pool: pool).find(name: "contoso")?.calendarWindow == CalendarWindowSetting(daysBack: 7, daysAhead: 90))
            let show = try fx.run(["tenant", "show", "contoso", "--format", "json"])
            #expect(show.stdout.contains("\"calendar_window\" : \"7d,90d\""), "\(show.stdout)")
            let bad = try fx.run(["tenant", "update", "contoso", "--calendar-window", "90d"])
            #expect(bad.status == 64 && bad.stderr.contains("--calendar-window: invalid calendar window"), "\(bad.stderr)")
            #expect(try fx.run(["tenant", "update", "contoso", "--calendar-window", "30d,365d"]).status == 0)
            #expect(try await TenantRepository(pool: pool).find(name: "contoso")?.calendarWindow == .default)
            await pool.shutdown()
        }
    }

    @Test func anEmptyProfileIsAUsageError() throws {
        let result = try CommandRunner.run("ewsfleet", ["tenant", "update", "contoso", "--properties", ""],
                                           environment: ["EWSFLEET_DATABASE_URL": "postgres://postgres@127.0.0.1:1/ewsfleet"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--properties"))
    }
}
