import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Store
import Support

@Suite(.requiresDatabase) struct PostgresPoolTests {
    @Test func transactionCommitsOrRollsBack() async throws {
        try await TestDatabase.withFresh("tx") { database in
            let pool = database.pool(size: 1)  // one connection: every lease reuses it
            try await pool.withConnection { try await $0.execute("CREATE TABLE t (v text)", name: "create") }
            try await pool.withTransaction { try await $0.query("INSERT INTO t VALUES ($1)", ["kept"], name: "insert") }
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await pool.withTransaction { connection in
                    try await connection.query("INSERT INTO t VALUES ($1)", ["dropped"], name: "insert")
                    throw Boom()
                }
            }
            // A failed statement that the body swallows must not look like a successful commit.
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withTransaction { connection in
                    try await connection.query("INSERT INTO t VALUES ($1)", ["also dropped"], name: "insert")
                    _ = try? await connection.query("SELECT 1/0", name: "divide")
                }
            }
            #expect(error?.sqlState == "25P02")
            // A transaction left open in withConnection is rolled back before reuse.
            try await pool.withConnection { connection in
                try await connection.query("BEGIN", name: "begin")
                try await connection.query("INSERT INTO t VALUES ($1)", ["left open"], name: "insert")
            }
            // So is a failed transaction (otherwise the next lease would get 25P02).
            try await pool.withConnection { connection in
                try await connection.query("BEGIN", name: "begin")
                _ = try? await connection.query("SELECT 1/0", name: "divide")
            }
            let values = try await pool.withConnection {
                try await $0.query("SELECT v FROM t ORDER BY v", name: "select")
            }
            #expect(values.rows.map { $0["v"] } == ["kept"])
            await pool.shutdown()
        }
    }

    @Test func waitersAreServedFIFOAndCancelledWaiterLeavesQueue() async throws {
        try await TestDatabase.withFresh("fifo") { database in
            let pool = database.pool(size: 1)
            let order = Recorder<String>()
            let holderReady = Signal()
            let releaseHolder = Signal()
            let holder = Task {
                try await pool.withConnection { _ in
                    holderReady.fire()
                    await releaseHolder.wait()
                }
            }
            await holderReady.wait()
            var waiters: [Task<Void, any Error>] = []
            for (index, name) in ["first", "cancelled", "second", "third"].enumerated() {
                waiters.append(
                    Task {
                        try await pool.withConnection { connection in
                            _ = try await connection.query("SELECT 1", name: "probe")
                            order.append(name)
                        }
                    })
                try await waitUntil { pool.waitingCount == index + 1 }
            }
            waiters[1].cancel()
            await #expect(throws: CancellationError.self) { try await waiters[1].value }
            #expect(pool.waitingCount == 3)
            releaseHolder.fire()
            try await holder.value
            for waiter in [waiters[0], waiters[2], waiters[3]] { try await waiter.value }
            #expect(order.values == ["first", "second", "third"])
            await pool.shutdown()
        }
    }

    @Test func connectionKilledMidTransactionCommitsNothingAndPoolRecovers() async throws {
        try await TestDatabase.withFresh("kill") { database in
            let pool = database.pool(size: 2)
            try await pool.withConnection { try await $0.execute("CREATE TABLE t (v text)", name: "create") }
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withTransaction { connection in
                    try await connection.query("INSERT INTO t VALUES ($1)", ["doomed"], name: "insert")
                    let pid = try await connection.query("SELECT pg_backend_pid() AS pid", name: "pid")
                        .first!.decode("pid", as: Int.self)
                    try await pool.withConnection { other in
                        let killed = try await other.query(
                            "SELECT pg_terminate_backend($1, 5000) AS ok", [PostgresValue(pid)], name: "kill")
                        #expect(killed.first?["ok"] == "t")
                    }
                    try await connection.query("INSERT INTO t VALUES ($1)", ["after kill"], name: "insert after kill")
                }
            }
            #expect(error?.code == .connectionLost)
            #expect(error?.isRetryable == true)
            #expect(error?.queryName == "insert after kill")
            // Nothing committed, and both pool connections work again.
            for _ in 0..<4 {
                let count = try await pool.withConnection {
                    try await $0.query("SELECT count(*) AS n FROM t", name: "count")
                }
                #expect(try count.first?.decode("n", as: Int.self) == 0)
            }
            await pool.shutdown()
        }
    }

    @Test func cancellingTheTaskCancelsTheRunningStatement() async throws {
        try await TestDatabase.withFresh("cancel") { database in
            let pool = database.pool(size: 2)
            let sleeper = Task {
                try await pool.withConnection { try await $0.query("SELECT pg_sleep(300)", name: "long sleep") }
            }
            try await waitUntil {
                let running = try await pool.withConnection { connection in
                    try await connection.query(
                        "SELECT count(*) AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(300)' AND state = 'active'",
                        name: "find sleeper")
                }
                return running.first?["n"] == "1"
            }
            sleeper.cancel()
            await #expect(throws: CancellationError.self) { try await sleeper.value }
            for _ in 0..<4 {
                let one = try await pool.withConnection { try await $0.query("SELECT 1 AS one", name: "after cancel") }
                #expect(one.first?["one"] == "1")
            }
            await pool.shutdown()
        }
    }

    @Test func shutdownFailsWaitersAndLaterCalls() async throws {
        try await TestDatabase.withFresh("shutdown") { database in
            let pool = database.pool(size: 1)
            let holderReady = Signal()
            let releaseHolder = Signal()
            let holder = Task {
                try await pool.withConnection { _ in
                    holderReady.fire()
                    await releaseHolder.wait()
                }
            }
            await holderReady.wait()
            let waiter = Task { try await pool.withConnection { _ in } }
            try await waitUntil { pool.waitingCount == 1 }
            let shutdown = Task { await pool.shutdown() }
            let error = await #expect(throws: PostgresError.self) { try await waiter.value }
            #expect(error?.code == .poolShutdown)
            releaseHolder.fire()
            try await holder.value
            await shutdown.value
            let late = await #expect(throws: PostgresError.self) { try await pool.withConnection { _ in } }
            #expect(late?.code == .poolShutdown)
        }
    }
}

/// Tests that need no server: they check the failure path when there is none.
@Suite struct PostgresConnectFailureTests {
    @Test func downServerGivesOneClearLineWithoutPassword() async throws {
        let pool = PostgresPool(
            PostgresConfiguration(url: "postgres://admin:topsecret@127.0.0.1:1/ewsfleet"), logger: TestDatabase.logger)
        let error = await #expect(throws: PostgresError.self) {
            try await pool.withConnection { try await $0.query("SELECT 1", name: "probe") }
        }
        let description = try #require(error?.description)
        #expect(error?.code == .connectionFailed)
        #expect(error?.isRetryable == true)
        #expect(description.hasPrefix("database 127.0.0.1:1/ewsfleet: connection failed: "))
        #expect(description.contains("Connection refused"))
        #expect(!description.contains("topsecret"))
        #expect(!description.contains("\n"))
        await pool.shutdown()
    }

    @Test func unparseableURLIsAConfigurationError() async throws {
        let pool = PostgresPool(
            PostgresConfiguration(url: "postgres://admin:top%zzsecret@127.0.0.1:1/ewsfleet"), logger: TestDatabase.logger)
        let error = await #expect(throws: PostgresError.self) { try await pool.withConnection { _ in } }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.isRetryable == false)
        #expect(error?.description.contains("secret") == false)
        await pool.shutdown()
    }

    @Test func reconnectAttemptsArePacedByBackoffOnTheInjectedClock() async throws {
        let clock = RecordingClock()
        var configuration = PostgresConfiguration(url: "postgres://127.0.0.1:1/ewsfleet", poolSize: 1)
        configuration.reconnectBackoff = Backoff(initial: .milliseconds(100), maximum: .milliseconds(300), jitter: 0)
        let pool = PostgresPool(configuration, logger: TestDatabase.logger, clock: clock)
        for _ in 0..<4 {
            await #expect(throws: PostgresError.self) { try await pool.withConnection { _ in } }
        }
        #expect(clock.sleeps == [.milliseconds(100), .milliseconds(200), .milliseconds(300)])
        await pool.shutdown()
    }
}
