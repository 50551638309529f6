import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// `tenant update --properties` on a running fleet: changes carry the profile's fields, each equal
/// to what ews-sim's ground truth says the message holds (not to what ewsfleet parsed), and the
/// body preview only when named. Both dialects (gromox sends the whole body, Exchange 1 KB of it).
@Suite(.requiresDatabase, .serialized) struct PropertyProfileTests {
    struct Row {
        var itemID: String
        var kind: String
        var properties: [String: Any]
    }

    static func rows(_ f: FleetFixture, _ ids: [String]) async throws -> [Row] {
        let raw: [(String, String, String)] = try await f.pool.withConnection { conn in
            try await conn.query("SELECT item_id, kind, properties::text AS p FROM changes WHERE item_id = ANY($1::text[]) ORDER BY id",
                                 [.array(ids)], name: "test.properties").rows.map {
                (try $0.decode("item_id"), try $0.decode("kind"), try $0.decode("p"))
            }
        }
        return try raw.map { id, kind, text in
            Row(itemID: id, kind: kind,
                properties: try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:])
        }
    }

    /// The preview as the README defines it, written independently of ewsfleet's: whitespace runs
    /// as one space, the first 255 characters, no space at either end.
    static func expectedPreview(_ body: String) -> String {
        let folded = body.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return String(String(folded.prefix(255)).reversed().drop { $0 == " " }.reversed())
    }

    static let defaultKeys: Set<String> = ["subject", "sender", "received_at", "size", "has_attachments", "is_read"]

    @Test(arguments: SimDialect.allCases)
    func aProfileChangeReachesTheRunningTenantAndRecordsTheTruth(dialect: SimDialect) async throws {
        try await FleetFixture.with("profile", dialect: dialect, FolderWatchTests.single) { f in
            try await f.addAll()
            let (tenant, mailbox) = (f.tenants[0].name, f.allMailboxes[0])
            let fleet = f.startSupervisor()
            try await f.waitUntil("the mailbox streams") { try await f.streamingCount() == 1 }
            try await f.waitUntil("inbox converged") { try await f.converged(mailbox) }
            let backfill = try await Self.rows(f, try f.sim.world.items(mailbox: mailbox).map(\.itemId))
            #expect(!backfill.isEmpty)
            for row in backfill { #expect(Set(row.properties.keys) == Self.defaultKeys, "the default profile") }

            var update = TenantUpdate()
            update.itemProperties = try PropertyProfile(parsing: "extended,body_preview")
            try await TenantRepository(pool: f.pool).update(name: tenant, update, secret: nil, keyring: f.keyring)
            // Readiness: mail until one arrives with the new profile (rows before the reload carry
            // the old one; none after it may).
            var reloaded = false
            for _ in 0..<100 where !reloaded {
                let id = try f.sim.world.deliver(mailbox: mailbox, count: 1)
                try await f.waitUntil("the probe mail is committed") { try await f.changeCount(id) == 1 }
                reloaded = try await Self.rows(f, id)[0].properties["importance"] != nil
            }
            #expect(reloaded, "the profile never reached the running tenant")

            let fresh = try f.sim.world.deliver(mailbox: mailbox, count: 6)
            try await f.waitUntil("the new mail is committed") { try await f.changeCount(fresh) == fresh.count }
            try f.sim.world.updateItem(itemId: fresh[0])  // flagged: its flag and category change
            try f.sim.world.setRead(itemId: fresh[1], true)
            try await f.waitUntil("the update and the read are committed") { try await f.changeCount(fresh) == fresh.count + 2 }
            try await f.waitUntil("inbox converged") { try await f.converged(mailbox) }

            let truth = Dictionary(uniqueKeysWithValues: try f.sim.world.contents(mailbox: mailbox).map { ($0.itemId, $0) })
            let snapshot = Dictionary(uniqueKeysWithValues: try f.sim.world.items(mailbox: mailbox).map { ($0.itemId, $0) })
            let rows = try await Self.rows(f, fresh)
            #expect(rows.filter { $0.kind == "created" }.count == fresh.count)
            // The last fetched row of each item holds the item as it is now.
            var last: [String: Row] = [:]
            for row in rows where row.kind != "read_flag" { last[row.itemID] = row }
            #expect(rows.filter { $0.kind == "updated" }.map(\.itemID) == [fresh[0]])
            for id in fresh {
                let p = try #require(last[id]).properties
                let t = try #require(truth[id])
                #expect(p["subject"] as? String == snapshot[id]?.subject)
                #expect(p["importance"] as? String == t.importance)
                #expect(p["flag_status"] as? String == t.flagStatus)
                #expect((p["categories"] as? [String] ?? []) == t.categories)
                #expect((p["cc"] as? [String] ?? []) == t.cc)
                #expect(p["to"] as? [String] == t.to)
                #expect(p["from"] as? String == t.from)
                #expect(p["internet_message_id"] as? String == t.internetMessageId)
                #expect(p["conversation_id"] as? String == t.conversationId)
                #expect(p["body_preview"] as? String == Self.expectedPreview(t.textBody))
            }
            #expect(truth[fresh[0]]?.flagStatus == "Flagged")
            // The mirror keeps the extended fields, never the preview.
            #expect(try await f.count("SELECT count(*) AS n FROM items WHERE item_id = ANY($1::text[]) AND properties ? 'importance'",
                                      [.array(fresh)]) == fresh.count)
            #expect(try await f.count("SELECT count(*) AS n FROM items WHERE properties ? 'body_preview'") == 0)
            let verdict = try await f.outboxVerdict()
            #expect(verdict.isClean, "\(verdict)")
            await fleet.stop()
        }
    }
}
