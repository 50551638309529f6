import Foundation
import Store
import TestSupport
import Testing

@Suite struct MailboxCommandTests {
    func count(_ pool: PostgresPool, _ sql: String) async throws -> Int {
        let row = try await pool.withConnection { try await $0.query(sql, name: "test.count") }.rows[0]
        return Int(try row.decode("n", as: Int64.self))
    }

    @Test(.requiresDatabase) func badInputIsOneLineExit65AndWritesNothing() async throws {
        try await CLIFixture.with("mailboxbad") { fx in
            #expect(try fx.addTenant("contoso").status == 0)
            #expect(try fx.run(["mailbox", "add", "contoso", "a@contoso.com"]).status == 0)
            let invalid = try fx.run(["mailbox", "add", "contoso", "not an address"])
            let duplicate = try fx.run(["mailbox", "add", "contoso", "A@Contoso.com"])
            let unknown = try fx.run(["mailbox", "add", "nope", "b@contoso.com"])
            for result in [invalid, duplicate, unknown] {
                #expect(result.status == 65)
                #expect(result.stderr.split(separator: "\n").count == 1)
                #expect(result.stdout.isEmpty)
            }
            #expect(invalid.stderr.contains("invalid email address"))
            #expect(duplicate.stderr.contains("already exists"))
            #expect(unknown.stderr.contains("unknown tenant nope"))
            let pool = fx.db.pool()
            #expect(try await count(pool, "SELECT count(*) AS n FROM mailboxes") == 1)
            await pool.shutdown()
        }
    }

    @Test(.requiresDatabase) func importInBatchesReportsDuplicatesAndInvalidRowsAndImportsTheRest() async throws {
        try await CLIFixture.with("import") { fx in
            #expect(try fx.addTenant("contoso").status == 0)
            #expect(try fx.addTenant("fabrikam").status == 0)
            #expect(try fx.run(["mailbox", "add", "contoso", "existing@contoso.com"]).status == 0)
            var csv = "tenant,smtp,folders\n"
            for i in 0..<2500 { csv += "contoso,user\(i)@contoso.com,inbox;sentitems\n" }
            csv += "fabrikam,all@fabrikam.com,*\n"
            csv += "contoso,existing@contoso.com,\n"       // duplicate of the database
            csv += "contoso,user7@contoso.com,\n"          // duplicate within the file
            csv += "contoso,broken-address,\n"             // invalid
            csv += "nope,x@nope.example,\n"                // unknown tenant
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID()).csv").path
            try Data(csv.utf8).write(to: URL(fileURLWithPath: file))
            let result = try fx.run(["mailbox", "import", file, "--batch-size", "1000", "--format", "json"])
            #expect(result.status == 65)
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
            #expect(summary.first?["imported"] as? String == "2501")
            #expect(summary.first?["duplicates"] as? String == "2")
            #expect(summary.first?["rejected"] as? String == "2")
            #expect(result.stderr.contains("line 2505: invalid email address broken-address"))
            #expect(result.stderr.contains("line 2506: unknown tenant nope"))
            #expect(!result.stderr.contains("\r"))   // no progress bar when stderr is not a terminal

            let pool = fx.db.pool()
            #expect(try await count(pool, "SELECT count(*) AS n FROM mailboxes") == 2502)
            #expect(try await count(pool, "SELECT count(*) AS n FROM mailboxes WHERE watch_all") == 1)
            #expect(try await count(pool, "SELECT count(*) AS n FROM mailboxes WHERE folders = '{inbox,sentitems}'") == 2500)

            // Importing the same file again only finds duplicates.
            let again = try fx.run(["mailbox", "import", file, "--format", "json"])
            #expect(again.stdout.contains("\"imported\" : \"0\""))
            #expect(try await count(pool, "SELECT count(*) AS n FROM mailboxes") == 2502)
            await pool.shutdown()
        }
    }

    @Test(.requiresDatabase) func resyncDropsTheSyncStates() async throws {
        try await CLIFixture.with("resync") { fx in
            #expect(try fx.addTenant("contoso").status == 0)
            #expect(try fx.run(["mailbox", "add", "contoso", "a@contoso.com"]).status == 0)
            let pool = fx.db.pool()
            _ = try await pool.withConnection { conn in
                try await conn.query("""
                    INSERT INTO folder_sync (mailbox_id, folder_id, sync_state) SELECT id, 'inbox', 'state-1' FROM mailboxes
                    """, name: "test.sync")
            }
            let result = try fx.run(["mailbox", "resync", "contoso", "a@contoso.com"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("dropped 1 sync state"))
            #expect(try await count(pool, "SELECT count(*) AS n FROM folder_sync") == 0)
            #expect(try fx.run(["mailbox", "resync", "contoso", "b@contoso.com"]).status == 65)
            await pool.shutdown()
        }
    }
}
