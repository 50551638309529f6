import Foundation
import TestSupport
import Support
import Testing

@testable import Store

@Suite(.requiresDatabase) struct OutboxFollowerTests {
    /// A transaction that inserts a row and stays open until `commit` fires.
    struct OpenTransaction {
        let inserted = Signal()
        let commit = Signal()
        let task: Task<Void, any Error>

        init(pool: PostgresPool, item: String) {
            let inserted = self.inserted
            let commit = self.commit
            task = Task {
                try await pool.withTransaction { connection in
                    try await OutboxTestSchema.insert(connection, item: item)
                    inserted.fire()
                    await commit.wait()
                }
            }
        }
    }

    @Test func slowerTransactionWithLowerIdIsNotSkipped() async throws {
        try await TestDatabase.withFresh("outbox") { database in
            let pool = database.pool(size: 4)
            try await OutboxTestSchema.create(on: pool)
            let follower = OutboxFollower(pool: pool, filter: .all)
            try await pool.withTransaction { try await OutboxTestSchema.insert($0, item: "C") }

            let a = OpenTransaction(pool: pool, item: "A")  // takes the lower id, commits last
            await a.inserted.wait()
            try await pool.withTransaction { try await OutboxTestSchema.insert($0, item: "B") }

            // A naive `id > last` reader would now see C and B and move past A's id.
            let naive = try await pool.withConnection {
                try await $0.query("SELECT item_id FROM changes ORDER BY id", name: "naive")
            }
            #expect(naive.rows.map { $0["item_id"] } == ["C", "B"])

            // Writing transactions of concurrently running tests (anywhere in the cluster: xids
            // are cluster-wide) may hold xmin back for a moment, so positive results are awaited;
            // such delays can only postpone rows, never reorder or drop them.
            let first = try await fetchUntil(follower, after: .start) { !$0.isEmpty }
            #expect(first.map { $0.row["item_id"] } == ["C"])
            let position = try #require(first.last?.position)
            #expect(try await follower.fetch(after: position, limit: 100).isEmpty)

            a.commit.fire()
            try await a.task.value
            let rest = try await fetchUntil(follower, after: position) { $0.count >= 2 }
            #expect(rest.map { $0.row["item_id"] } == ["A", "B"])
            #expect(rest.map(\.position) == rest.map(\.position).sorted())
            #expect(try await follower.fetch(after: rest.last!.position, limit: 100).isEmpty)
            // Batches respect the limit and continue where the previous ended.
            let one = try await follower.fetch(after: .start, limit: 1)
            let two = try await follower.fetch(after: one[0].position, limit: 2)
            #expect((one + two).map { $0.row["item_id"] } == ["C", "A", "B"])
            await pool.shutdown()
        }
    }

    @Test func filterByTenantAndMailbox() async throws {
        try await TestDatabase.withFresh("filter") { database in
            let pool = database.pool()
            try await OutboxTestSchema.create(on: pool)
            try await pool.withTransaction { connection in
                try await OutboxTestSchema.insert(connection, item: "1", tenant: "t1", mailbox: "a@x.com")
                try await OutboxTestSchema.insert(connection, item: "2", tenant: "t2", mailbox: "a@x.com")
                try await OutboxTestSchema.insert(connection, item: "3", tenant: "t1", mailbox: "b@x.com")
                try await OutboxTestSchema.insert(connection, item: "4", tenant: "'; DROP TABLE changes; --", mailbox: "c@x.com")
            }
            _ = try await fetchUntil(OutboxFollower(pool: pool), after: .start) { $0.count == 4 }
            func items(_ filter: OutboxFilter) async throws -> [String?] {
                try await OutboxFollower(pool: pool, filter: filter).fetch(after: .start, limit: 10).map { $0.row["item_id"] }
            }
            #expect(try await items(.all) == ["1", "2", "3", "4"])
            #expect(try await items(.tenant("t1")) == ["1", "3"])
            #expect(try await items(.mailbox("A@X.com")) == ["1", "2"])
            #expect(try await items(.mailbox("a@x.com", tenant: "t2")) == ["2"])
            #expect(try await items(.tenant("'; DROP TABLE changes; --")) == ["4"])
            await pool.shutdown()
        }
    }

    @Test func streamDeliversHeldBackRowsAfterTheSlowCommit() async throws {
        try await TestDatabase.withFresh("stream") { database in
            let pool = database.pool(size: 4)
            try await OutboxTestSchema.create(on: pool)
            var follower = OutboxFollower(pool: pool, pollInterval: .milliseconds(20))
            let fetches = Recorder<Int>()
            follower.fetchObserver = { fetches.append($0) }
            let received = Recorder<String>()
            let consumer = Task {
                for try await record in follower.records(after: .start) {
                    received.append(try record.row.decode("item_id", as: String.self))
                }
            }
            try await pool.withTransaction { try await OutboxTestSchema.insert($0, item: "C") }
            try await waitUntil { received.values == ["C"] }
            let a = OpenTransaction(pool: pool, item: "A")
            await a.inserted.wait()
            try await pool.withTransaction { try await OutboxTestSchema.insert($0, item: "B") }
            // B is committed but must be held back while A is open: let the follower complete
            // three more fetches (each wakes on B's NOTIFY or after 20 ms) and check it delivered
            // nothing.
            let fetchesBefore = fetches.values.count
            try await waitUntil { fetches.values.count >= fetchesBefore + 3 }
            #expect(received.values == ["C"])
            a.commit.fire()
            try await a.task.value
            try await waitUntil { received.values.count == 3 }
            #expect(received.values == ["C", "A", "B"])
            consumer.cancel()
            await pool.shutdown()
        }
    }

    @Test func concurrentCommittersSomeRollingBackEveryCommittedRowExactlyOnce() async throws {
        try await TestDatabase.withFresh("random") { database in
            let pool = database.pool(size: 8)
            try await OutboxTestSchema.create(on: pool)
            let followerPool = database.pool(size: 2)
            let follower = OutboxFollower(pool: followerPool, batchSize: 7, pollInterval: .milliseconds(10))
            let received = Recorder<OutboxRecord>()
            let consumer = Task {
                for try await record in follower.records(after: .start) { received.append(record) }
            }
            let committed = Recorder<String>()
            struct Rollback: Error {}
            try await withThrowingTaskGroup(of: Void.self) { group in
                for committer in 0..<6 {
                    group.addTask {
                        var generator = SystemRandomNumberGenerator()
                        for transaction in 0..<25 {
                            let rows = Int.random(in: 1...3, using: &generator)
                            let rollBack = Int.random(in: 0..<4, using: &generator) == 0
                            let items = (0..<rows).map { "c\(committer)-t\(transaction)-r\($0)" }
                            do {
                                try await pool.withTransaction { connection in
                                    for item in items {
                                        try await OutboxTestSchema.insert(connection, item: item)
                                        if Bool.random(using: &generator) { await Task.yield() }
                                    }
                                    if rollBack { throw Rollback() }
                                }
                                for item in items { committed.append(item) }
                            } catch is Rollback {}
                        }
                    }
                }
                try await group.waitForAll()
            }
            let expected = Set(committed.values)
            try await waitUntil(timeout: .seconds(30)) { received.values.count >= expected.count }
            // One more full poll round must not bring anything extra.
            let lastPosition = try #require(received.values.last?.position)
            #expect(try await follower.fetch(after: lastPosition, limit: 1000).isEmpty)
            let items = try received.values.map { try $0.row.decode("item_id", as: String.self) }
            #expect(items.count == expected.count)
            #expect(Set(items) == expected)
            let positions = received.values.map(\.position)
            #expect(zip(positions, positions.dropFirst()).allSatisfy { $0 < $1 })
            consumer.cancel()
            await pool.shutdown()
            await followerPool.shutdown()
        }
    }

    /// Fetches until `done` holds for the batch (rows may be held back for a moment by other
    /// tests' transactions).
    func fetchUntil(
        _ follower: OutboxFollower, after position: OutboxPosition, _ done: @escaping @Sendable ([OutboxRecord]) -> Bool
    ) async throws -> [OutboxRecord] {
        let latest = Recorder<[OutboxRecord]>()
        try await waitUntil {
            let batch = try await follower.fetch(after: position, limit: 100)
            latest.append(batch)
            return done(batch)
        }
        return latest.values.last ?? []
    }
}
