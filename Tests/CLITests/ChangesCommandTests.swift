import Foundation
import Store
import TestSupport
import Testing

@Suite struct ChangesCommandTests {
    func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test(.requiresDatabase) func tailPrintsTheLastLinesFiltered() async throws {
        try await CLIFixture.with("tail") { fx in
            let pool = fx.db.pool()
            try await fx.insertChanges(pool: pool, tenant: "contoso", mailbox: "a@contoso.com", count: 5)
            try await fx.insertChanges(pool: pool, tenant: "fabrikam", mailbox: "b@fabrikam.com", count: 3, start: 100)
            try await fx.waitUntilVisible(pool: pool, count: 8)
            let all = try fx.run(["changes", "tail", "--format", "json", "--lines", "4"])
            #expect(all.status == 0, "\(all.stderr)")
            let rows = try jsonLines(all.stdout)
            #expect(rows.compactMap { $0["item_id"] as? String } == ["item-3", "item-4", "item-100", "item-101", "item-102"].suffix(4))
            let contoso = try fx.run(["changes", "tail", "--tenant", "contoso", "--format", "json"])
            #expect(try jsonLines(contoso.stdout).count == 5)
            #expect(try jsonLines(contoso.stdout).first?["subject"] as? String == "subject 0")
            let table = try fx.run(["changes", "tail", "--mailbox", "B@Fabrikam.com"])
            #expect(table.stdout.split(separator: "\n").count == 4)   // header + 3
            #expect(table.stdout.hasPrefix("POSITION"))
            await pool.shutdown()
        }
    }

    /// Transaction ids compared as text put "9" after "10": the last rows must be the newest
    /// transactions even when their ids have one digit more.
    @Test(.requiresDatabase) func tailTakesTheLastRowsAcrossATransactionIdDigitBoundary() async throws {
        try await CLIFixture.with("tail_digits") { fx in
            let pool = fx.db.pool()
            for txid in [8, 9, 10, 11] {
                _ = try await pool.withConnection { conn in
                    try await conn.query("""
                        INSERT INTO changes (txid, tenant, mailbox, mailbox_id, folder_id, item_id, kind, observed_at)
                        VALUES ($1::text::xid8, 'contoso', 'a@contoso.com', 1, 'inbox', $2, 'created', now())
                        """, [PostgresValue(String(txid)), PostgresValue("item-tx\(txid)")], name: "test.insert_txid")
                }
            }
            try await fx.waitUntilVisible(pool: pool, count: 4)
            let tail = try fx.run(["changes", "tail", "--format", "json", "--lines", "2"])
            #expect(tail.status == 0, "\(tail.stderr)")
            #expect(try jsonLines(tail.stdout).compactMap { $0["item_id"] as? String } == ["item-tx10", "item-tx11"])
            await pool.shutdown()
        }
    }

    @Test(.requiresDatabase) func aConsumerResumesAfterItsSavedPosition() async throws {
        try await CLIFixture.with("consumer") { fx in
            let pool = fx.db.pool()
            try await fx.insertChanges(pool: pool, tenant: "contoso", mailbox: "a@contoso.com", count: 3)
            try await fx.waitUntilVisible(pool: pool, count: 3)
            let first = try fx.run(["changes", "tail", "--consumer", "audit", "--format", "json"])
            #expect(try jsonLines(first.stdout).count == 3)
            let again = try fx.run(["changes", "tail", "--consumer", "audit", "--format", "json"])
            #expect(again.status == 0)
            #expect(again.stdout.isEmpty)
            try await fx.insertChanges(pool: pool, tenant: "contoso", mailbox: "a@contoso.com", count: 2, start: 3)
            try await fx.waitUntilVisible(pool: pool, count: 5)
            let next = try fx.run(["changes", "tail", "--consumer", "audit", "--format", "json"])
            #expect(try jsonLines(next.stdout).compactMap { $0["item_id"] as? String } == ["item-3", "item-4"])
            let saved = try await ConsumerRepository(pool: pool).position(of: "audit")
            #expect(saved.id == 5)
            await pool.shutdown()
        }
    }

    @Test(.requiresDatabase) func pruneKeepsWhatAConsumerHasNotRead() async throws {
        try await CLIFixture.with("prune") { fx in
            let pool = fx.db.pool()
            try await fx.insertChanges(pool: pool, tenant: "contoso", mailbox: "a@contoso.com", count: 4)
            try await fx.waitUntilVisible(pool: pool, count: 4)
            _ = try await pool.withConnection { try await $0.query("UPDATE changes SET committed_at = now() - interval '2 days'", name: "age") }
            // A consumer that has read two rows holds back the other two.
            let consumers = ConsumerRepository(pool: pool)
            _ = try await consumers.position(of: "slow")
            let rows = try await OutboxFollower(pool: pool).fetch(after: .start, limit: 2)
            try await consumers.save(rows[1].position, for: "slow")
            let pruned = try fx.run(["changes", "prune", "--retention", "1d"])
            #expect(pruned.status == 0, "\(pruned.stderr)")
            #expect(pruned.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
            let bad = try fx.run(["changes", "prune", "--retention", "soon"])
            #expect(bad.status == 64)
            #expect(bad.stderr.split(separator: "\n").count == 1)
            await pool.shutdown()
        }
    }

    /// The body preview is personal data: `--preview-retention` removes it from older rows, which
    /// stay, even those a consumer has not read; younger rows keep theirs.
    @Test(.requiresDatabase) func previewRetentionRemovesOldPreviewsWhateverTheConsumers() async throws {
        try await CLIFixture.with("prune_preview") { fx in
            let pool = fx.db.pool()
            try await fx.insertChanges(pool: pool, tenant: "contoso", mailbox: "a@contoso.com", count: 4)
            try await fx.waitUntilVisible(pool: pool, count: 4)
            _ = try await pool.withConnection {
                try await $0.query("""
                    UPDATE changes SET properties = '{"subject": "s", "body_preview": "private text"}'::jsonb,
                           committed_at = CASE WHEN id % 2 = 0 THEN now() - interval '3 days' ELSE now() END
                    """, name: "age")
            }
            _ = try await ConsumerRepository(pool: pool).position(of: "never-reads")
            let pruned = try fx.run(["changes", "prune", "--retention", "30d", "--preview-retention", "1d"])
            #expect(pruned.status == 0, "\(pruned.stderr)")
            #expect(pruned.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
            #expect(pruned.stderr.contains("removed the body preview of 2 changes"))
            let counts = try await pool.withConnection {
                try await $0.query("""
                    SELECT count(*) FILTER (WHERE properties ? 'body_preview') AS previews,
                           count(*) FILTER (WHERE properties->>'subject' = 's') AS subjects FROM changes
                    """, name: "count").rows[0]
            }
            #expect(try counts.decode("previews", as: Int.self) == 2)
            #expect(try counts.decode("subjects", as: Int.self) == 4)
            #expect(try fx.run(["changes", "prune", "--preview-retention", "later"]).status == 64)
            await pool.shutdown()
        }
    }
}

@Suite struct ChangesFollowTests {
    /// Reads one line from a pipe on a Dispatch thread (a blocking read, off the cooperative pool).
    static func readLine(_ handle: FileHandle) async -> String? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var bytes: [UInt8] = []
                while true {
                    let data = handle.readData(ofLength: 1)
                    guard let byte = data.first else { return continuation.resume(returning: bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)) }
                    if byte == UInt8(ascii: "\n") { break }
                    bytes.append(byte)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    @Test(.requiresDatabase, .timeLimit(.minutes(2))) func followPrintsNewRowsAndSavesTheConsumerPosition() async throws {
        try await CLIFixture.with("follow") { fx in
            let pool = fx.db.pool()
            try await fx.insertChanges(pool: pool, tenant: "contoso", mailbox: "a@contoso.com", count: 2)
            let process = SpawnedProcess()
            process.executableURL = CommandRunner.productsDirectory.appendingPathComponent("ewsfleet")
            process.arguments = ["changes", "tail", "--follow", "--consumer", "live", "--format", "json"]
            var env = ProcessInfo.processInfo.environment
            env["EWSFLEET_DATABASE_URL"] = fx.db.url
            process.environment = env
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            var items: [String] = []
            func next() async throws {
                let line = try #require(await Self.readLine(out.fileHandleForReading))
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                items.append(try #require(object["item_id"] as? String))
            }
            try await next()
            try await next()
            // Rows committed while it follows arrive too, in order.
            try await fx.insertChanges(pool: pool, tenant: "contoso", mailbox: "a@contoso.com", count: 3, start: 2)
            for _ in 0..<3 { try await next() }
            #expect(items == ["item-0", "item-1", "item-2", "item-3", "item-4"])
            // The position is saved after each printed batch, before the next fetch.
            let deadline = ContinuousClock.now + .seconds(30)
            while try await ConsumerRepository(pool: pool).position(of: "live").id < 5, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await ConsumerRepository(pool: pool).position(of: "live").id == 5)
            process.terminate()
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    process.waitUntilExit()
                    done.resume()
                }
            }
            await pool.shutdown()
        }
    }
}
