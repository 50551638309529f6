import Foundation
import Simulator
import Store
import TestSupport
import Testing
import Support

/// A watched calendar on a running fleet: every entry of ews-sim's CalendarView over the tenant's
/// window (occurrences and exceptions of series, single appointments, a meeting request) is a
/// mirror row with its series, and changes to series, occurrences and appointments land as
/// created, updated and deleted rows. The oracle is ews-sim's own calendar view (its ground
/// truth), and the outbox is judged per entry against it.
@Suite(.requiresDatabase, .serialized) struct CalendarTests {
    static let hour: TimeInterval = 3600
    static let day: TimeInterval = 86_400

    static func mirror(_ f: FleetFixture) async throws -> [String: (key: String, master: String?, type: String?)] {
        var rows: [String: (key: String, master: String?, type: String?)] = [:]
        for row in try await f.pool.withConnection({ conn in
            try await conn.query("""
                SELECT item_id, change_key, properties->>'master_id' AS master, properties->>'calendar_item_type' AS type
                  FROM items WHERE folder_id = 'calendar'
                """, name: "test.calendar").rows
        }) {
            rows[try row.decode("item_id")] = (try row.decode("change_key"), try row.decode("master"), try row.decode("type"))
        }
        return rows
    }

    static func truth(_ f: FleetFixture, _ mailbox: String) throws -> [CalendarOccurrence] {
        let window = CalendarWindowSetting.default.window(at: Date())
        return try f.sim.world.calendarView(mailbox: mailbox, from: window.start, to: window.end)
    }

    static func converged(_ f: FleetFixture, _ mailbox: String) async throws -> Bool {
        let mirror = try await Self.mirror(f)
        let truth = try Self.truth(f, mailbox)
        guard Set(mirror.keys) == Set(truth.map(\.itemId)) else { return false }
        for entry in truth {
            guard let row = mirror[entry.itemId] else { return false }
            if row.key != entry.changeKey || row.master != entry.masterId || row.type != entry.calendarItemType { return false }
        }
        return true
    }

    /// Each entry in the truth has one `created` row since its last `deleted`; each entry that
    /// left has a `deleted` row after its last `created`. Returns what is wrong.
    static func outboxProblems(_ f: FleetFixture, _ mailbox: String) async throws -> [String] {
        var history: [String: [String]] = [:]
        for row in try await f.pool.withConnection({ conn in
            try await conn.query("SELECT item_id, kind FROM changes WHERE folder_id = 'calendar' ORDER BY txid, id", name: "test.cal_rows").rows
        }) { history[try row.decode("item_id"), default: []].append(try row.decode("kind")) }
        let present = Set(try Self.truth(f, mailbox).map(\.itemId))
        var problems: [String] = []
        for (id, kinds) in history {
            let sinceDelete = kinds.lastIndex(of: "deleted").map { Array(kinds[($0 + 1)...]) } ?? kinds
            if present.contains(id) {
                if sinceDelete.filter({ $0 == "created" }).count != 1 { problems.append("\(id): \(kinds)") }
            } else if kinds.contains("created"), kinds.last != "deleted" {
                problems.append("\(id) left: \(kinds)")
            }
        }
        for id in present where history[id] == nil { problems.append("\(id): no rows") }
        return problems
    }

    @Test(arguments: SimDialect.allCases)
    func theCalendarIsViewedOverTheWindowAndEachEntryIsARow(dialect: SimDialect) async throws {
        try await FleetFixture.with("calendar", dialect: dialect, { FolderWatchTests.single(&$0); $0.itemsPerMailbox = 0 }) { f in
            let (tenant, mailbox) = (f.tenants[0].name, f.allMailboxes[0])
            let today = Calendar(identifier: .gregorian).startOfDay(for: Date())
            let world = f.sim.world
            let standup = try world.createAppointment(mailbox: mailbox, subject: "Standup", start: today.addingTimeInterval(-2 * Self.day + 9 * Self.hour),
                                                      every: Self.day, count: 10)
            try world.createAppointment(mailbox: mailbox, subject: "Planning", start: today.addingTimeInterval(10 * Self.hour),
                                        every: 7 * Self.day, count: 4)
            let review = try world.createAppointment(mailbox: mailbox, subject: "Review", start: today.addingTimeInterval(Self.day + 14 * Self.hour))
            // A series that began before the window: only its later occurrences are in it.
            try world.createAppointment(mailbox: mailbox, subject: "Old", start: today.addingTimeInterval(-40 * Self.day), every: Self.day, count: 45)
            try await TenantRepository(pool: f.pool).add(
                NewTenant(name: tenant, ewsURL: f.tenants[0].ewsURL, authKind: .basic, identity: f.tenants[0].username, allowPlainHTTP: true),
                secret: Secret(f.tenants[0].password), keyring: f.keyring)
            try await MailboxRepository(pool: f.pool).add(tenant: tenant, smtpAddress: mailbox, watch: .folders(["calendar"]))
            let fleet = f.startSupervisor(coalescing: .milliseconds(300))
            try await f.waitUntil("the calendar is mirrored") { try await Self.converged(f, mailbox) }
            let entries = try Self.truth(f, mailbox)
            // Exchange expands: 10 + 4 + 1, and the 35 of "Old" from 30 days ago on. gromox lists
            // the three items whose own times touch the window.
            let expected = dialect == .exchange ? 50 : 3
            #expect(entries.count == expected)
            let created = try await f.count("SELECT count(*) AS n FROM changes WHERE folder_id = 'calendar' AND kind = 'created'")
            #expect(created == entries.count)

            // A series renamed (each occurrence changes), an occurrence moved (an exception) and
            // one deleted, an appointment deleted: each lands, checked against the view.
            try world.renameAppointment(itemId: standup, to: "Daily standup")
            if dialect == .exchange {
                let occurrences = entries.filter { $0.masterId == standup }
                try world.moveOccurrence(itemId: occurrences[3].itemId, byMinutes: 30)
                try world.deleteAppointment(itemId: occurrences[4].itemId)
            }
            try world.deleteAppointment(itemId: review)
            try await f.waitUntil("the changes are mirrored") { try await Self.converged(f, mailbox) }
            let problems = try await Self.outboxProblems(f, mailbox)
            #expect(problems.isEmpty, "\(problems)")
            let renamed = try Self.truth(f, mailbox).filter { $0.masterId == standup || $0.itemId == standup }.count
            let updated = try await f.count("SELECT count(*) AS n FROM changes WHERE folder_id = 'calendar' AND kind = 'updated'")
            #expect(updated >= renamed)

            // A meeting request: the server creates and then modifies the appointment; the
            // coalescing window folds both notifications into one view and one GetItem.
            let before = f.sim.world.statsSnapshot().requests
            try world.createAppointment(mailbox: mailbox, subject: "Invite", start: today.addingTimeInterval(3 * Self.day + 11 * Self.hour),
                                        meeting: true)
            try await f.waitUntil("the meeting is mirrored") { try await Self.converged(f, mailbox) }
            let after = f.sim.world.statsSnapshot().requests
            func calls(_ op: String) -> Int { (after[op]?.values.reduce(0, +) ?? 0) - (before[op]?.values.reduce(0, +) ?? 0) }
            #expect(calls("FindItem") == 1 && calls("GetItem") == 1, "FindItem \(calls("FindItem")), GetItem \(calls("GetItem"))")
            #expect(calls("SyncFolderItems") == 0)
            let remaining = try await Self.outboxProblems(f, mailbox)
            #expect(remaining.isEmpty, "\(remaining)")
            await fleet.stop()
        }
    }
}
