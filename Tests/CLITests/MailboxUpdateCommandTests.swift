import Foundation
import Store
import TestSupport
import Testing

/// `mailbox update` through the CLI: what it says, and its exit codes.
@Suite struct MailboxUpdateCommandTests {
    @Test(.requiresDatabase) func aSearchFolderIsWatchedByName() async throws {
        try await CLIFixture.with("mbxsearch") { fx in
            #expect(try fx.addTenant("contoso").status == 0)
            let add = try fx.run(["mailbox", "add", "contoso", "a@contoso.com", "--folder", "inbox", "--folder", "search:Unread Mail"])
            #expect(add.status == 0, "\(add.stderr)")
            let list = try fx.run(["mailbox", "list", "--format", "json"])
            #expect(list.stdout.contains("inbox,search:Unread Mail"), "\(list.stdout)")
            let empty = try fx.run(["mailbox", "add", "contoso", "b@contoso.com", "--folder", "search:"])
            #expect(empty.status == 65 && empty.stderr.contains("invalid folder \"search:\""), "\(empty.stderr)")
        }
    }

    @Test(.requiresDatabase) func foldersAndModeChangeAndMistakesAreClearErrors() async throws {
        try await CLIFixture.with("mbxupdate") { fx in
            #expect(try fx.addTenant("contoso").status == 0)
            #expect(try fx.run(["mailbox", "add", "contoso", "a@contoso.com"]).status == 0)
            let again = try fx.run(["mailbox", "add", "contoso", "a@contoso.com", "--folder", "sentitems"])
            #expect(again.status == 65)
            #expect(again.stderr.contains("already exists") && again.stderr.contains("mailbox update contoso a@contoso.com --add-folder"))

            let add = try fx.run(["mailbox", "update", "contoso", "a@contoso.com", "--add-folder", "sentitems", "--mode", "sync-only",
                                  "--poll-interval", "2m"])
            #expect(add.status == 0, "\(add.stderr)")
            #expect(add.stderr == "ewsfleet: updated a@contoso.com\n")
            let pool = fx.db.pool()
            var mailbox = try #require(try await MailboxRepository(pool: pool).find(tenant: "contoso", smtpAddress: "a@contoso.com"))
            #expect(mailbox.watch == .folders(["inbox", "sentitems"]) && mailbox.syncMode == .syncOnly && mailbox.pollIntervalSeconds == 120)

            let remove = try fx.run(["mailbox", "update", "contoso", "a@contoso.com", "--remove-folder", "inbox", "--mode", "tenant",
                                     "--poll-interval", "tenant"])
            #expect(remove.status == 0, "\(remove.stderr)")
            #expect(remove.stderr.contains("no longer watching inbox (mirror rows kept; --purge removes them)"))
            mailbox = try #require(try await MailboxRepository(pool: pool).find(tenant: "contoso", smtpAddress: "a@contoso.com"))
            #expect(mailbox.watch == .folders(["sentitems"]) && mailbox.syncMode == nil && mailbox.pollIntervalSeconds == nil)

            for (arguments, stderr) in [
                (["--remove-folder", "sentitems"], "a mailbox watches at least one folder"),
                (["--add-folder", "sentitems"], "folder sentitems is already watched"),
                (["--remove-folder", "drafts"], "folder drafts is not watched"),
                (["--add-folder", "search: "], "invalid folder \"search: \": give a distinguished name (inbox), a folder id, or search:NAME"),
            ] {
                let result = try fx.run(["mailbox", "update", "contoso", "a@contoso.com"] + arguments)
                #expect(result.status == 65, "\(arguments)")
                #expect(result.stderr.contains(stderr), "\(result.stderr)")
            }
            let unknown = try fx.run(["mailbox", "update", "contoso", "b@contoso.com", "--add-folder", "drafts"])
            #expect(unknown.status == 65 && unknown.stderr == "ewsfleet: unknown mailbox b@contoso.com in tenant contoso\n")
            let noTenant = try fx.run(["mailbox", "update", "nope", "a@contoso.com", "--add-folder", "drafts"])
            #expect(noTenant.status == 65 && noTenant.stderr == "ewsfleet: unknown tenant nope\n")
            await pool.shutdown()
        }
    }

    @Test(.requiresDatabase) func ignoreListsAddRemoveAndKeepTheirLimit() async throws {
        try await CLIFixture.with("mbxignore") { fx in
            #expect(try fx.addTenant("contoso").status == 0)
            #expect(try fx.run(["mailbox", "add", "contoso", "a@contoso.com"]).status == 0)
            let add = try fx.run(["mailbox", "ignore", "contoso", "a@contoso.com", "AAMk1", "AAMk2", "AAMk1"])
            #expect(add.status == 0 && add.stderr == "ewsfleet: ignoring 2 more item(s) of a@contoso.com\n", "\(add.stderr)")
            let list = try fx.run(["mailbox", "ignore", "contoso", "a@contoso.com", "--list", "--format", "json"])
            #expect(list.stdout.contains("AAMk1") && list.stdout.contains("AAMk2"))
            let removed = try fx.run(["mailbox", "ignore", "contoso", "a@contoso.com", "AAMk2", "--remove"])
            #expect(removed.stderr == "ewsfleet: no longer ignoring 1 item(s) of a@contoso.com\n")
            let many = (0..<1000).map { "X\($0)" }
            let over = try fx.run(["mailbox", "ignore", "contoso", "a@contoso.com"] + many)
            #expect(over.status == 65 && over.stderr.contains("would ignore 1001 items; the limit is 1000"), "\(over.stderr)")
            let after = try fx.run(["mailbox", "ignore", "contoso", "a@contoso.com", "--list", "--format", "json"])
            #expect(!after.stdout.contains("X0"), "the refused list was not written at all")
            #expect(try fx.run(["mailbox", "ignore", "contoso", "b@contoso.com", "X"]).status == 65)
            #expect(try fx.run(["mailbox", "ignore", "contoso", "a@contoso.com"]).status == 64)
        }
    }

    @Test(arguments: [
        [String](), ["--purge"], ["--all-folders", "--folders-list"], ["--all-folders", "--add-folder", "x"],
        ["--mode", "push"], ["--poll-interval", "1s"],
    ])
    func usageErrors(arguments: [String]) throws {
        let result = try CommandRunner.run("ewsfleet", ["mailbox", "update", "contoso", "a@contoso.com"] + arguments,
                                           environment: ["EWSFLEET_DATABASE_URL": "postgres://postgres@127.0.0.1:1/ewsfleet"])
        #expect(result.status == 64, "\(arguments): \(result.stderr)")
    }
}
