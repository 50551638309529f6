import Foundation
import Simulator
import Store
import TestSupport
import Testing

/// Notification → sync → commit against ews-sim, checked against its ground truth.
@Suite(.requiresDatabase) struct ChangePipelineTests {
    @Test(.serialized, arguments: SimDialect.allCases) func newMailReachesTheOutboxWithItsProperties(dialect: SimDialect) async throws {
        try await FleetFixture.with("newmail", dialect: dialect) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let mailbox = f.tenants[0].mailboxes[0]
            let ids = try f.sim.world.deliver(mailbox: mailbox, count: 3)
            try await f.waitUntil("the new mail is committed") {
                try await f.count("SELECT count(*) AS n FROM changes WHERE kind = 'created' AND item_id = ANY($1::text[])",
                                  [.array(ids)]) == 3
            }
            let subject = try await f.pool.withConnection {
                try await $0.query("SELECT properties->>'subject' AS s FROM changes WHERE item_id = $1", [PostgresValue(ids[0])],
                                   name: "t").rows[0].decode("s", as: String?.self)
            }
            let truth = try f.sim.world.items(mailbox: mailbox).first { $0.itemId == ids[0] }
            #expect(subject == truth?.subject)
            #expect(try await f.converged(mailbox))
            await fleet.stop()
        }
    }

    /// Exchange reports a read as ReadFlagChange, which needs no GetItem. gromox reports it as a
    /// plain `t:Update` with a new ChangeKey, so ewsfleet fetches the item and, seeing only IsRead
    /// differ from the mirror, still records `read_flag`, once per read change.
    @Test(.serialized, arguments: SimDialect.allCases) func aReadChangeIsCommittedAsReadFlag(dialect: SimDialect) async throws {
        try await FleetFixture.with("readflag", dialect: dialect) { f in
            try await f.addAll()
            let mailbox = f.tenants[1].mailboxes[1]
            let item = try #require(try f.sim.world.items(mailbox: mailbox).first)
            if dialect == .gromox, item.isRead { try f.sim.world.setRead(itemId: item.itemId, false) }  // so read → unread → read
            let fleet = f.startSupervisor()
            try await f.waitUntil("converged") {
                guard try await f.streamingCount() == f.allMailboxes.count else { return false }
                return try await f.allConverged()
            }
            let getItems = f.sim.world.statsSnapshot().count("GetItem", status: 200)
            switch dialect {
            case .exchange:
                try f.sim.world.setRead(itemId: item.itemId, !item.isRead)
                try await f.waitUntil("the read flag is committed") {
                    try await f.count("SELECT count(*) AS n FROM changes WHERE kind = 'read_flag' AND item_id = $1 AND is_read = $2",
                                      [PostgresValue(item.itemId), PostgresValue(!item.isRead)]) == 1
                }
                #expect(f.sim.world.statsSnapshot().count("GetItem", status: 200) == getItems)
            case .gromox:
                var expected: [ReadFlagRow] = []
                for isRead in [true, false, true] {
                    try f.sim.world.setRead(itemId: item.itemId, isRead)
                    let changeKey = try #require(try f.sim.world.items(mailbox: mailbox).first { $0.itemId == item.itemId }).changeKey
                    expected.append(ReadFlagRow(changeKey: changeKey, isRead: isRead))
                    try await f.waitUntil("the read change to is_read = \(isRead) is committed") {
                        try await readFlagRows(f, item.itemId).count >= expected.count
                    }
                }
                #expect(try await readFlagRows(f, item.itemId) == expected)
                #expect(try await f.count("SELECT count(*) AS n FROM changes WHERE kind = 'updated' AND item_id = $1",
                                          [PostgresValue(item.itemId)]) == 0, "an Update that only flips IsRead is read_flag")
                // Each read came as an Update (the sim never sends ReadFlagChange here), so each was fetched.
                #expect(f.sim.world.statsSnapshot().count("GetItem", status: 200) >= getItems + expected.count)
            }
            #expect(try await f.converged(mailbox))
            await fleet.stop()
        }
    }

    /// A server that keeps the ChangeKey on a read-state change: read → unread → read is still
    /// three `read_flag` rows with the right `is_read`, one ChangeKey, and the mirror follows.
    @Test(.serialized, arguments: SimDialect.allCases) func readStateChangesThatKeepTheChangeKeyAreEachRecorded(dialect: SimDialect) async throws {
        try await FleetFixture.with("keepck", dialect: dialect, { $0.keepChangeKeyOnReadChange = true }) { f in
            try await f.addAll()
            let mailbox = f.tenants[0].mailboxes[1]
            let item = try #require(try f.sim.world.items(mailbox: mailbox).first)
            if item.isRead { try f.sim.world.setRead(itemId: item.itemId, false) }
            let fleet = f.startSupervisor()
            try await f.waitUntil("converged") {
                guard try await f.streamingCount() == f.allMailboxes.count else { return false }
                return try await f.allConverged()
            }
            var expected: [ReadFlagRow] = []
            for isRead in [true, false, true] {
                try f.sim.world.setRead(itemId: item.itemId, isRead)
                let changeKey = try #require(try f.sim.world.items(mailbox: mailbox).first { $0.itemId == item.itemId }).changeKey
                #expect(changeKey == item.changeKey, "the simulator keeps the ChangeKey")
                expected.append(ReadFlagRow(changeKey: changeKey, isRead: isRead))
                try await f.waitUntil("the read change to is_read = \(isRead) is committed") {
                    try await readFlagRows(f, item.itemId).count >= expected.count
                }
            }
            #expect(try await readFlagRows(f, item.itemId) == expected)
            #expect(try await f.converged(mailbox))
            await fleet.stop()
        }
    }

    struct ReadFlagRow: Equatable {
        var changeKey: String
        var isRead: Bool
    }

    /// The item's `read_flag` rows in commit order.
    func readFlagRows(_ f: FleetFixture, _ itemID: String) async throws -> [ReadFlagRow] {
        try await f.pool.withConnection {
            try await $0.query("SELECT change_key, is_read FROM changes WHERE kind = 'read_flag' AND item_id = $1 ORDER BY id",
                               [PostgresValue(itemID)], name: "test.read_flags").rows.map {
                ReadFlagRow(changeKey: try $0.decode("change_key", as: String.self), isRead: try $0.decode("is_read", as: Bool.self))
            }
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func theMirrorConvergesUnderRandomTrafficWithNoDuplicateRows(dialect: SimDialect) async throws {
        try await FleetFixture.with("traffic", dialect: dialect) { f in
            try await f.addAll()
            let fleet = f.startSupervisor(coalescing: .milliseconds(100))
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            f.sim.traffic.set(rate: 40)
            try await f.waitUntil("traffic ran") { f.sim.traffic.actions >= 150 }
            f.sim.traffic.stop()
            try await f.waitUntil("the mirror converged") { try await f.allConverged() }
            let verdict = try await f.outboxVerdict()
            #expect(verdict.isClean, "\(verdict)")
            await fleet.stop()
        }
    }

    @Test(.serialized, arguments: SimDialect.allCases) func closedStreamsReopenAndNothingIsMissed(dialect: SimDialect) async throws {
        try await FleetFixture.with("closed", dialect: dialect) { f in
            try await f.addAll()
            let fleet = f.startSupervisor()
            try await f.waitUntil("every mailbox streams") { try await f.streamingCount() == f.allMailboxes.count }
            let opened = f.sim.world.statsSnapshot().streamsOpened
            f.sim.world.closeAllStreams()
            let mailbox = f.tenants[0].mailboxes[2]
            let ids = try f.sim.world.deliver(mailbox: mailbox, count: 2)
            try await f.waitUntil("streams reopened") { f.sim.world.statsSnapshot().streamsOpened > opened }
            try await f.waitUntil("mail delivered around the reopen is committed") {
                try await f.count("SELECT count(*) AS n FROM changes WHERE item_id = ANY($1::text[])", [.array(ids)]) == 2
            }
            await fleet.stop()
        }
    }
}
