import Foundation
import Store
import TestSupport
import Testing

@Suite struct StatusCommandTests {
    @Test(.requiresDatabase) func summaryTenantLaggingAndErrorsViews() async throws {
        try await CLIFixture.with("status") { fx in
            #expect(try fx.addTenant("contoso").status == 0)
            for address in ["a@contoso.com", "b@contoso.com", "c@contoso.com"] {
                #expect(try fx.run(["mailbox", "add", "contoso", address]).status == 0)
            }
            let pool = fx.db.pool()
            // b's status comes from a live instance; c's from one whose heartbeats stopped.
            try await InstanceRepository(pool: pool).heartbeat(holder: LeaseHolder(instanceID: "live", run: "r1"), hostname: "h", pid: 1, version: "v")
            try await InstanceRepository(pool: pool).heartbeat(holder: LeaseHolder(instanceID: "gone", run: "r2"), hostname: "h", pid: 2, version: "v",
                                                                 staleAfter: .seconds(1))
            _ = try await pool.withConnection { conn in
                try await conn.query("""
                    INSERT INTO mailbox_status (mailbox_id, state, last_error_code, last_error_message, consecutive_failures, instance_id)
                    SELECT id, 'backing_off', 'ErrorServerBusy', 'The server is busy', 3, 'live' FROM mailboxes WHERE smtp_address = 'b@contoso.com'
                    """, name: "test.status")
                try await conn.query("""
                    INSERT INTO mailbox_status (mailbox_id, state, instance_id)
                    SELECT id, 'streaming', 'gone' FROM mailboxes WHERE smtp_address = 'c@contoso.com'
                    """, name: "test.status_stale")
                try await conn.query("UPDATE fleet_instances SET heartbeat_at = now() - interval '10 seconds' WHERE instance_id = 'gone'",
                                     name: "test.age")
            }
            await pool.shutdown()

            let summary = try fx.run(["status", "--format", "json"])
            #expect(summary.status == 0, "\(summary.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(summary.stdout.utf8)) as? [String: Any])
            let tenants = try #require(object["tenants"] as? [[String: Any]])
            #expect(tenants.first?["tenant"] as? String == "contoso")
            #expect(tenants.first?["mailboxes"] as? String == "3")
            #expect(tenants.first?["stale"] as? String == "1")
            #expect(tenants.first?["streaming"] as? String == "0", "a dead instance's 'streaming' is not believed")
            let byState = try #require(object["mailboxes_by_state"] as? [[String: Any]])
            #expect(Set(byState.compactMap { $0["state"] as? String }) == ["idle", "backing_off", "stale"])
            let throttled = try #require(object["throttled_or_blocked"] as? [[String: Any]])
            #expect(throttled.first?["throttled_mailboxes"] as? String == "1")

            let table = try fx.run(["status"])
            #expect(table.stdout.contains("== tenants =="))
            #expect(table.stdout.contains("== instances =="))

            let detail = try fx.run(["status", "--tenant", "contoso"])
            #expect(detail.stdout.contains("a@contoso.com"))
            #expect(detail.stdout.contains("backing_off"))
            #expect(detail.stdout.contains("stale"))

            let errors = try fx.run(["status", "--errors", "--format", "json"])
            let errorRows = try #require((try JSONSerialization.jsonObject(with: Data(errors.stdout.utf8)) as? [String: Any])?["errors"] as? [[String: Any]])
            #expect(errorRows.count == 1)
            #expect(errorRows.first?["code"] as? String == "ErrorServerBusy")

            let lagging = try fx.run(["status", "--lagging"])
            #expect(lagging.status == 0)
            #expect(lagging.stdout.contains("a@contoso.com") && lagging.stdout.contains("b@contoso.com"))

            let unknown = try fx.run(["status", "--tenant", "nope"])
            #expect(unknown.status == 65)
            #expect(unknown.stderr == "ewsfleet: unknown tenant nope\n")
            #expect(unknown.stdout.isEmpty)
        }
    }
}

@Suite struct StatusWatchTests {
    @Test(.requiresDatabase, .timeLimit(.minutes(2))) func watchRedrawsInPlaceUntilInterrupted() async throws {
        try await CLIFixture.with("watch") { fx in
            #expect(try fx.addTenant("contoso").status == 0)
            let process = SpawnedProcess()
            process.executableURL = CommandRunner.productsDirectory.appendingPathComponent("ewsfleet")
            process.arguments = ["status", "--watch", "--interval", "1"]
            var env = ProcessInfo.processInfo.environment
            env["EWSFLEET_DATABASE_URL"] = fx.db.url
            process.environment = env
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Two redraws: each starts with cursor-home + clear-screen and shows the tenants table.
            let output: String = await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    var text = ""
                    while text.components(separatedBy: "\u{1B}[H\u{1B}[2J").count < 3 || !text.hasSuffix("\n") {
                        let data = out.fileHandleForReading.availableData
                        if data.isEmpty { break }
                        text += String(decoding: data, as: UTF8.self)
                    }
                    continuation.resume(returning: text)
                }
            }
            process.interrupt()  // SIGINT, like Ctrl-C
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    process.waitUntilExit()
                    done.resume()
                }
            }
            let frames = output.components(separatedBy: "\u{1B}[H\u{1B}[2J").dropFirst()
            #expect(frames.count >= 2)
            #expect(frames.allSatisfy { $0.contains("contoso") })
        }
    }
}
