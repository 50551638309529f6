import Foundation
import Store
import TestSupport
import Testing

@Suite(.requiresDatabase) struct PostgresNotificationTests {
    @Test func listenDeliversNotifyWithPayloadVerbatim() async throws {
        try await TestDatabase.withFresh("notify") { database in
            let pool = database.pool()
            let channel = "control \"channel\""
            let events = Recorder<PostgresNotification>()
            let stream = pool.notifications(channel: channel)
            let consumer = Task {
                for try await event in stream { events.append(event) }
            }
            try await waitUntil { events.values.contains(.listening) }
            let payload = "'; DROP TABLE x; -- ✓"
            let pid = try await pool.withConnection { connection in
                try await connection.query("SELECT pg_notify($1, $2)", [PostgresValue(channel), PostgresValue(payload)], name: "notify")
                try await connection.query("SELECT pg_notify($1, $2)", ["other", "ignored"], name: "notify other")
                return try await connection.query("SELECT pg_backend_pid() AS pid", name: "pid").first!.decode("pid", as: Int32.self)
            }
            try await waitUntil { events.values.count >= 2 }
            #expect(events.values == [.listening, .notification(channel: channel, payload: payload, pid: pid)])
            consumer.cancel()
            _ = await consumer.result
            await pool.shutdown()
        }
    }

    @Test func shutdownEndsNotificationStreams() async throws {
        try await TestDatabase.withFresh("notifyend") { database in
            let pool = database.pool()
            let events = Recorder<PostgresNotification>()
            let stream = pool.notifications(channel: "c")
            let consumer = Task {
                for try await event in stream { events.append(event) }
            }
            try await waitUntil { events.values.contains(.listening) }
            await pool.shutdown()
            try await consumer.value  // finishes instead of hanging
            var afterShutdown = pool.notifications(channel: "c").makeAsyncIterator()
            await #expect(throws: PostgresError.self) { _ = try await afterShutdown.next() }
        }
    }
}
