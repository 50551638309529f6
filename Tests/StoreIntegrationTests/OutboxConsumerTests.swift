import Foundation
import Store
import TestSupport
import Testing

/// Takes the first `count` records from the follower's endless stream. Rows of transactions still
/// running anywhere on the server (other tests run in parallel) are held back until those end, so a
/// one-shot fetch may see fewer; the stream waits for them.
func take(_ count: Int, from follower: OutboxFollower, after position: OutboxPosition) async throws -> [OutboxRecord] {
    var records: [OutboxRecord] = []
    guard count > 0 else { return records }
    for try await record in follower.records(after: position) {
        records.append(record)
        if records.count == count { break }
    }
    return records
}

/// The outbox as consumers see it: checkpoints followed in commit-safe order, named positions, pruning.
@Suite(.requiresDatabase) struct OutboxConsumerTests {
    @Test func followerReadsCheckpointsAndAConsumerResumesWhereItStopped() async throws {
        try await StoreFixture.with("consumer") { f in
            let writer = CheckpointWriter(pool: f.pool)
            for page in 0..<3 {
                var cp = f.checkpoint(state: "S\(page)")
                for n in 0..<4 {
                    let (item, change) = created("p\(page)-\(n)")
                    cp.upserts.append(item)
                    cp.changes.append(change)
                }
                try await writer.commit(cp)
            }
            let consumers = ConsumerRepository(pool: f.pool)
            let follower = OutboxFollower(pool: f.pool, filter: .mailbox("ALICE@contoso.example"))
            let first = try await take(5, from: follower, after: try await consumers.position(of: "crm"))
            #expect(try first.map { try $0.row.decode("item_id", as: String.self) }
                    == ["p0-0", "p0-1", "p0-2", "p0-3", "p1-0"])
            try await consumers.save(try #require(first.last).position, for: "crm")
            let rest = try await take(7, from: follower, after: try await consumers.position(of: "crm"))
            #expect(try rest.first?.row.decode("item_id", as: String.self) == "p1-1")
            #expect(try await follower.fetch(after: try #require(rest.last).position, limit: 100).isEmpty)
            #expect(try await OutboxFollower(pool: f.pool, filter: .tenant("other")).fetch(after: .start, limit: 10).isEmpty)
        }
    }

    @Test func pruneDeletesOnlyOldRowsEveryConsumerHasPassed() async throws {
        try await StoreFixture.with("prune") { f in
            var cp = f.checkpoint(state: "S")
            for n in 0..<4 {
                let (item, change) = created("i\(n)")
                cp.upserts.append(item)
                cp.changes.append(change)
            }
            try await CheckpointWriter(pool: f.pool).commit(cp)
            let all = try await take(4, from: OutboxFollower(pool: f.pool), after: .start)
            let consumers = ConsumerRepository(pool: f.pool)
            _ = try await consumers.position(of: "slow")
            try await consumers.save(all[1].position, for: "slow")
            #expect(try await consumers.prune(olderThan: .seconds(3600)) == 0)  // all rows are young
            try await f.pool.withConnection {
                try await $0.query("UPDATE changes SET committed_at = now() - interval '2 days'", name: "age")
            }
            #expect(try await consumers.prune(olderThan: .seconds(3600)) == 2)  // only what "slow" passed
            let left = try await take(2, from: OutboxFollower(pool: f.pool), after: .start)
            #expect(left.map(\.position) == Array(all[2...]).map(\.position))
        }
    }
}
