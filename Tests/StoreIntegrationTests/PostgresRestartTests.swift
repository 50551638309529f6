import Foundation
import TestSupport
import Testing

@testable import Store

/// Tests that restart the PostgreSQL server (EWSFLEET_TEST_PG_RESTART). scripts/test runs this
/// suite in its own `swift test --filter PostgresRestartTests` invocation, apart from all other
/// database tests, and the suite is serialized.
@Suite(.serialized, .requiresRestartableDatabase) struct PostgresRestartTests {
    @Test func inFlightQueryFailsRetryableAndLaterWorkSucceeds() async throws {
        try await TestDatabase.withFresh("restart") { database in
            let pool = database.pool(size: 2)
            let inFlight = Task {
                try await pool.withConnection { try await $0.query("SELECT pg_sleep(60)", name: "long sleep") }
            }
            try await waitUntil {
                let running = try await pool.withConnection { connection in
                    try await connection.query(
                        "SELECT count(*) AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'",
                        name: "find sleeper")
                }
                return running.first?["n"] == "1"
            }
            try await TestDatabase.restartServer()
            let error = await #expect(throws: PostgresError.self) { try await inFlight.value }
            #expect(error?.code == .connectionLost)
            #expect(error?.isRetryable == true)
            #expect(error?.queryName == "long sleep")
            #expect(error?.description.contains(database.name) == true)
            // Both pooled connections died; later work reconnects and succeeds, also in parallel.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let result = try await pool.withConnection { try await $0.query("SELECT 1 AS one", name: "after restart") }
                        #expect(result.first?["one"] == "1")
                    }
                }
                try await group.waitForAll()
            }
            await pool.shutdown()
        }
    }

    @Test func listenReconnectsReListensAndSignalsConsumers() async throws {
        try await TestDatabase.withFresh("relisten") { database in
            let pool = database.pool()
            let events = Recorder<PostgresNotification>()
            let stream = pool.notifications(channel: "ctl")
            let consumer = Task {
                for try await event in stream { events.append(event) }
            }
            try await waitUntil { events.values.contains(.listening) }
            try await TestDatabase.restartServer()
            try await waitUntil(timeout: .seconds(20)) { events.values.contains(.reconnected) }
            _ = try await pool.withConnection { try await $0.query("SELECT pg_notify('ctl', 'after')", name: "notify") }
            try await waitUntil {
                events.values.contains { event in
                    if case .notification(_, "after", _) = event { return true }
                    return false
                }
            }
            #expect(events.values.first == .listening)
            consumer.cancel()
            _ = await consumer.result
            await pool.shutdown()
        }
    }

    @Test func outboxFollowerCatchesUpAfterRestart() async throws {
        try await TestDatabase.withFresh("outboxrestart") { database in
            let pool = database.pool()
            try await OutboxTestSchema.create(on: pool)
            // A long poll interval: catching up must not depend on timing luck, only on the
            // follower re-querying after its reconnect (and NOTIFY wake-ups).
            let follower = OutboxFollower(pool: database.pool(size: 1), pollInterval: .milliseconds(200))
            let received = Recorder<String>()
            let consumer = Task {
                for try await record in follower.records(after: .start) {
                    received.append(try record.row.decode("item_id", as: String.self))
                }
            }
            for item in ["1", "2", "3"] {
                try await pool.withTransaction { try await OutboxTestSchema.insert($0, item: item) }
            }
            try await waitUntil { received.values.count == 3 }
            try await TestDatabase.restartServer()
            for item in ["4", "5", "6"] {
                try await pool.withTransaction { try await OutboxTestSchema.insert($0, item: item) }
            }
            try await waitUntil(timeout: .seconds(20)) { received.values.count >= 6 }
            #expect(received.values == ["1", "2", "3", "4", "5", "6"])
            consumer.cancel()
            _ = await consumer.result
            await follower.pool.shutdown()
            await pool.shutdown()
        }
    }
}
