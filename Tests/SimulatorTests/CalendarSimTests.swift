import Foundation
import Testing
@testable import Simulator

/// ews-sim's calendar: CalendarView expands series into occurrences and exceptions (an entry is
/// in the view when it ends after StartDate and starts before EndDate), answers a full window with
/// IncludesLastItemInRange false, GetItem resolves occurrences and their masters; the gromox
/// dialect does not expand.
@Suite struct CalendarSimTests {
    static let monday = Date(timeIntervalSince1970: 1_796_083_200)  // 2026-12-07 00:00 UTC
    static let hour: TimeInterval = 3600
    static let day: TimeInterval = 86_400

    static func view(_ start: Date, _ end: Date, max: Int = 100, mailbox: String) -> String {
        Soap.envelope("<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
                      + "<t:FieldURI FieldURI=\"calendar:CalendarItemType\"/><t:FieldURI FieldURI=\"calendar:Start\"/>"
                      + "</t:AdditionalProperties></m:ItemShape>"
                      + "<m:CalendarView MaxEntriesReturned=\"\(max)\" StartDate=\"\(start.formatted(.iso8601))\" EndDate=\"\(end.formatted(.iso8601))\"/>"
                      + "<m:ParentFolderIds><t:DistinguishedFolderId Id=\"calendar\"/></m:ParentFolderIds></m:FindItem>", impersonate: mailbox)
    }

    static func entries(_ body: String) throws -> (items: [(id: String, type: String)], last: String?) {
        let root = try #require(try Soap.messages(body).first?.child(NS.messages, "RootFolder"))
        let items = (root.child(NS.types, "Items")?.children ?? []).map {
            ($0.child(NS.types, "ItemId")?.attribute("Id") ?? "", $0.child(NS.types, "CalendarItemType")?.text ?? "")
        }
        return (items, root.attribute("IncludesLastItemInRange"))
    }

    @Test func calendarViewExpandsSeriesWithExceptionsAndDeletedOccurrences() async throws {
        try await SimFixture.with({ $0.itemsPerMailbox = 0 }) { sim in
            let mailbox = sim.tenants[0].mailboxes[0]
            let nine = Self.monday.addingTimeInterval(9 * Self.hour)
            let series = try sim.world.createAppointment(mailbox: mailbox, subject: "Standup", start: nine, minutes: 30,
                                                         every: Self.day, count: 5)
            let single = try sim.world.createAppointment(mailbox: mailbox, subject: "Review", start: nine.addingTimeInterval(Self.day + 2 * Self.hour))
            var truth = try sim.world.calendarView(mailbox: mailbox, from: Self.monday, to: Self.monday.addingTimeInterval(7 * Self.day))
            #expect(truth.count == 6)
            // Tuesday's occurrence moves an hour (an exception); Thursday's is deleted.
            try sim.world.moveOccurrence(itemId: truth[1].itemId, byMinutes: 60)
            try sim.world.deleteAppointment(itemId: truth.first { $0.start == nine.addingTimeInterval(3 * Self.day) }!.itemId)
            truth = try sim.world.calendarView(mailbox: mailbox, from: Self.monday, to: Self.monday.addingTimeInterval(7 * Self.day))
            #expect(truth.map(\.calendarItemType) == ["Occurrence", "Exception", "Single", "Occurrence", "Occurrence"])
            #expect(truth.allSatisfy { $0.masterId == ($0.calendarItemType == "Single" ? nil : series) })
            let answer = try Self.entries(try await sim.ews(Self.view(Self.monday, Self.monday.addingTimeInterval(7 * Self.day),
                                                                       mailbox: mailbox)).body)
            #expect(answer.items.map(\.id) == truth.map(\.itemId) && answer.last == "true")
            // An entry is in the view when it ends after the start and starts before the end.
            let edge = try Self.entries(try await sim.ews(Self.view(nine.addingTimeInterval(30 * 60), nine.addingTimeInterval(Self.day),
                                                                     mailbox: mailbox)).body)
            #expect(edge.items.isEmpty, "Monday's ends at the start; Tuesday's moved one starts after the end")
            // More than MaxEntriesReturned: the first ones, and IncludesLastItemInRange false.
            let full = try Self.entries(try await sim.ews(Self.view(Self.monday, Self.monday.addingTimeInterval(7 * Self.day), max: 2,
                                                                     mailbox: mailbox)).body)
            #expect(full.items.map(\.id) == truth.prefix(2).map(\.itemId) && full.last == "false")
            // GetItem: an occurrence, and its master by RecurringMasterItemId.
            let get = Soap.envelope("<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
                                    + "<t:FieldURI FieldURI=\"calendar:CalendarItemType\"/></t:AdditionalProperties></m:ItemShape><m:ItemIds>"
                                    + "<t:ItemId Id=\"\(truth[1].itemId)\"/><t:RecurringMasterItemId OccurrenceId=\"\(truth[1].itemId)\"/>"
                                    + "<t:ItemId Id=\"\(single)\"/></m:ItemIds></m:GetItem>", impersonate: mailbox)
            let items = try Soap.messages(try await sim.ews(get).body).compactMap { $0.child(NS.messages, "Items")?.children.first }
            #expect(items.map { $0.child(NS.types, "ItemId")?.attribute("Id") ?? "" } == [truth[1].itemId, series, single])
            #expect(items.map { $0.child(NS.types, "CalendarItemType")?.text ?? "" } == ["Exception", "RecurringMaster", "Single"])
        }
    }

    @Test func gromoxDoesNotExpandSeries() async throws {
        try await SimFixture.with({ $0.itemsPerMailbox = 0; $0.dialect = .gromox }) { sim in
            let mailbox = sim.tenants[0].mailboxes[0]
            let nine = Self.monday.addingTimeInterval(9 * Self.hour)
            let series = try sim.world.createAppointment(mailbox: mailbox, subject: "Standup", start: nine, every: Self.day, count: 5)
            let answer = try Self.entries(try await sim.ews(Self.view(Self.monday, Self.monday.addingTimeInterval(7 * Self.day),
                                                                       mailbox: mailbox)).body)
            #expect(answer.items.map(\.id) == [series] && answer.items.map(\.type) == ["RecurringMaster"])
            // Its own start is before the window: gromox does not return it, though occurrences fall inside.
            let later = try Self.entries(try await sim.ews(Self.view(Self.monday.addingTimeInterval(2 * Self.day),
                                                                      Self.monday.addingTimeInterval(7 * Self.day), mailbox: mailbox)).body)
            #expect(later.items.isEmpty)
        }
    }
}
