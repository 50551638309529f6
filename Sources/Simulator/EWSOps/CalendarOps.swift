import Foundation

/// FindItem with a CalendarView, and calendar items in GetItem, as Exchange answers them:
/// recurring series expanded into occurrences and exceptions, an entry returned when it ends
/// after StartDate and starts before EndDate, by start time; a window holding more than
/// MaxEntriesReturned answers the first ones with IncludesLastItemInRange false (no paging: the
/// client narrows the window). The gromox dialect answers as gromox 3.10 does: CalendarView is a
/// restriction on each item's own start and end (exmdb's AppointmentStartWhole/EndWhole, which
/// for a series are its first occurrence's), nothing is expanded, a series is one
/// RecurringMaster, and the bounds are inclusive (captured from its source, tCalendarView).
enum CalendarOps {
    static func findItem(_ context: EWSContext, _ operation: SimXMLNode, view: SimXMLNode) -> SimResponse {
        let world = context.world
        let shape = ItemXML.shape(operation.child(NS.messages, "ItemShape"))
        let folders = EWSContext.folderIdNodes(operation.child(NS.messages, "ParentFolderIds"))
        let maxEntries = Int(view.attribute("MaxEntriesReturned") ?? "") ?? Int.max
        let start = view.attribute("StartDate").flatMap { try? Date($0, strategy: .iso8601) }
        let end = view.attribute("EndDate").flatMap { try? Date($0, strategy: .iso8601) }
        let body: String = world.lock.withLock {
            EWSEnvelope.response("FindItem", for: context) { w in
                for node in folders {
                    do throws(EWSCodeError) {
                        guard let start, let end, start < end else {
                            throw EWSCodeError(code: "ErrorCalendarEndDateIsEarlierThanStartDate",
                                               message: "EndDate is earlier than StartDate")
                        }
                        guard operation.child(NS.messages, "Restriction") == nil else {
                            throw EWSCodeError(code: "ErrorInvalidRestriction", message: "Restrictions are not supported with a CalendarView.")
                        }
                        let (mailbox, folder) = try context.resolveFolder(node)
                        guard folder.folderClass == "IPF.Appointment" else {
                            throw EWSCodeError(code: "ErrorCalendarFolderIsInvalidForCalendarView",
                                               message: "The folder is not a calendar folder.")
                        }
                        let entries = world.calendarView(mailbox, from: start, to: end)
                        let page = entries.prefix(maxEntries)
                        EWSEnvelope.message(&w, "FindItem") { w in
                            w.element("m:RootFolder", ["TotalItemsInView": String(entries.count),
                                                       "IncludesLastItemInRange": page.count == entries.count ? "true" : "false"]) { w in
                                w.element("t:Items") { w in
                                    for entry in page { write(&w, entry, shape: shape) }
                                }
                            }
                        }
                    } catch {
                        EWSEnvelope.message(&w, "FindItem", error: (error.code, error.message))
                    }
                }
            }
        }
        return .xml(.ok, body)
    }

    /// An appointment as one item: a single one, or a series' master.
    static func master(_ world: SimWorld, _ mailbox: Mailbox, _ event: CalendarEvent) -> CalendarOccurrence {
        CalendarOccurrence(itemId: world.calendarItemId(mailbox, event), changeKey: SimIds.itemChangeKey(event.changeSequence),
                           start: event.start, end: event.start.addingTimeInterval(event.duration), subject: event.subject,
                           location: event.location, organizer: event.organizer,
                           calendarItemType: event.recurrence == nil ? "Single" : "RecurringMaster", masterId: nil, uid: event.uid)
    }

    /// GetItem of a calendar id (`t:ItemId`) or of an occurrence's master (`t:RecurringMasterItemId`);
    /// nil for a `t:ItemId` that names no calendar entry (a mail item's, resolved as such).
    static func resolve(_ context: EWSContext, _ node: SimXMLNode) throws(EWSCodeError) -> CalendarOccurrence? {
        let world = context.world
        let masterOf = node.localName == "RecurringMasterItemId"
        guard masterOf || node.localName == "ItemId" else { return nil }
        let id = masterOf ? node.attribute("OccurrenceId") : node.attribute("Id")
        guard let id, let (mailbox, event, n) = world.resolveCalendarItem(id) else {
            if masterOf { throw .itemNotFound }
            return nil
        }
        guard mailbox.tenantIndex == context.tenant.index else { throw .itemNotFound }
        if masterOf {
            guard n != nil else { throw EWSCodeError(code: "ErrorItemIsNotAnOccurrence", message: "The item is not an occurrence.") }
            return master(world, mailbox, event)
        }
        guard n != nil else { return master(world, mailbox, event) }
        let all = world.occurrences(mailbox, event, from: .distantPast, to: .distantFuture)
        guard let entry = all.first(where: { $0.itemId == id }) else { throw .itemNotFound }
        return entry
    }

    /// `t:CalendarItem` in CalendarItemType's schema order.
    static func write(_ w: inout XMLWriter, _ entry: CalendarOccurrence, shape: ItemXML.Shape) {
        func wanted(_ uri: String) -> Bool {
            switch shape {
            case .idOnly: false
            case .full: true
            case .properties(let set): set.contains(uri)
            }
        }
        w.open("t:CalendarItem")
        w.empty("t:ItemId", ["Id": entry.itemId, "ChangeKey": entry.changeKey])
        if wanted("item:Subject") { w.element("t:Subject", entry.subject) }
        if wanted("calendar:UID") { w.element("t:UID", entry.uid) }
        if wanted("calendar:Start") { w.element("t:Start", entry.start.formatted(.iso8601)) }
        if wanted("calendar:End") { w.element("t:End", entry.end.formatted(.iso8601)) }
        if wanted("calendar:Location") { w.element("t:Location", entry.location) }
        if wanted("calendar:CalendarItemType") { w.element("t:CalendarItemType", entry.calendarItemType) }
        if wanted("calendar:Organizer") {
            w.element("t:Organizer") { w in
                w.element("t:Mailbox") { w in
                    w.element("t:Name", String(entry.organizer.split(separator: "@").first ?? ""))
                    w.element("t:EmailAddress", entry.organizer)
                    w.element("t:RoutingType", "SMTP")
                }
            }
        }
        w.close("t:CalendarItem")
    }
}
