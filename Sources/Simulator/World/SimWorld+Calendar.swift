public import Foundation

/// A calendar entry: a single appointment, or a recurring series (daily or weekly, a fixed number
/// of occurrences) with exceptions (an occurrence moved or renamed) and deleted occurrences.
/// Occurrence `n` (0-based) has its own ItemId: the entry's key with `n + 1` in the id's
/// generation field under the top bit, as Exchange gives each occurrence an id of its own.
struct CalendarEvent {
    struct Exception {
        var start: Date
        var subject: String
        var sequence: UInt64
    }

    let key: UInt64
    var subject: String
    var organizer: String
    var location: String
    var start: Date
    var duration: TimeInterval
    /// Seconds between occurrences and how many there are; nil for a single appointment.
    var recurrence: (step: TimeInterval, count: UInt32)?
    var exceptions: [UInt32: Exception] = [:]
    var deleted: Set<UInt32> = []
    var changeSequence: UInt64
    var isMeeting = false

    var uid: String { String(format: "sim-%016llx", key) }
}

/// One entry of a calendar view: an occurrence, an exception or a single appointment.
public struct CalendarOccurrence: Sendable, Equatable, Codable {
    public var itemId: String
    public var changeKey: String
    public var start: Date
    public var end: Date
    public var subject: String
    public var location: String
    public var organizer: String
    /// `Single`, `Occurrence` or `Exception`.
    public var calendarItemType: String
    /// The recurring master's id; nil for a single appointment.
    public var masterId: String?
    public var uid: String

    enum CodingKeys: String, CodingKey {
        case itemId = "item_id", changeKey = "change_key", start, end, subject, location, organizer
        case calendarItemType = "calendar_item_type", masterId = "master_id", uid
    }
}

extension SimWorld {
    static let occurrenceFlag: UInt32 = 0x8000_0000

    func calendarItemId(_ mailbox: Mailbox, _ event: CalendarEvent, occurrence: UInt32? = nil) -> String {
        SimIds.itemId(tenant: mailbox.tenantIndex, mailbox: mailbox.index, key: event.key,
                      generation: occurrence.map { Self.occurrenceFlag | ($0 + 1) } ?? 0)
    }

    /// The entries of `event` in the view: those that end after `start` and start before `end`
    /// (lock held). A single appointment is itself; a series gives its occurrences and exceptions.
    func occurrences(_ mailbox: Mailbox, _ event: CalendarEvent, from start: Date, to end: Date) -> [CalendarOccurrence] {
        guard let recurrence = event.recurrence else {
            let entry = CalendarOccurrence(
                itemId: calendarItemId(mailbox, event), changeKey: SimIds.itemChangeKey(event.changeSequence), start: event.start,
                end: event.start.addingTimeInterval(event.duration), subject: event.subject, location: event.location,
                organizer: event.organizer, calendarItemType: "Single", masterId: nil, uid: event.uid)
            return entry.end > start && entry.start < end ? [entry] : []
        }
        var result: [CalendarOccurrence] = []
        let master = calendarItemId(mailbox, event)
        for n in 0..<recurrence.count where !event.deleted.contains(n) {
            let exception = event.exceptions[n]
            let begins = exception?.start ?? event.start.addingTimeInterval(Double(n) * recurrence.step)
            let ends = begins.addingTimeInterval(event.duration)
            guard ends > start, begins < end else { continue }
            result.append(CalendarOccurrence(
                itemId: calendarItemId(mailbox, event, occurrence: n),
                changeKey: SimIds.itemChangeKey(max(event.changeSequence, exception?.sequence ?? 0)), start: begins, end: ends,
                subject: exception?.subject ?? event.subject, location: event.location, organizer: event.organizer,
                calendarItemType: exception == nil ? "Occurrence" : "Exception", masterId: master, uid: event.uid))
        }
        return result
    }

    /// The calendar view of a mailbox as its tenant's dialect answers it (lock held), by start
    /// time. gromox 3.10 expands nothing: an item whose own end is at or after the start and whose
    /// own start is at or before the end, a series as its RecurringMaster.
    func calendarView(_ mailbox: Mailbox, from start: Date, to end: Date) -> [CalendarOccurrence] {
        let events = mailbox.calendar.values.sorted { $0.key < $1.key }
        if isGromox(mailbox) {
            return events.filter { $0.start.addingTimeInterval($0.duration) >= start && $0.start <= end }
                .map { CalendarOps.master(self, mailbox, $0) }
        }
        return events.flatMap { occurrences(mailbox, $0, from: start, to: end) }.sorted { ($0.start, $0.itemId) < ($1.start, $1.itemId) }
    }

    /// A calendar id's entry: the event and, for an occurrence, its number (lock held).
    func resolveCalendarItem(_ id: String) -> (Mailbox, CalendarEvent, UInt32?)? {
        guard let ref = SimIds.parseItem(id), let mailbox = mailbox(tenant: ref.tenant, index: ref.mailbox),
              let event = mailbox.calendar[ref.key]
        else { return nil }
        if ref.generation == 0 { return (mailbox, event, nil) }
        guard ref.generation & Self.occurrenceFlag != 0, let recurrence = event.recurrence else { return nil }
        let n = ref.generation & ~Self.occurrenceFlag - 1
        guard n < recurrence.count, !event.deleted.contains(n) else { return nil }
        return (mailbox, event, n)
    }

    // MARK: - Ground truth and user activity

    /// The true calendar view (ground truth for tests): what CalendarView answers for the window,
    /// in the mailbox's dialect.
    public func calendarView(mailbox smtp: String, from start: Date, to end: Date) throws(SimError) -> [CalendarOccurrence] {
        try locked { () throws(SimError) -> [CalendarOccurrence] in calendarView(try requireMailbox(smtp), from: start, to: end) }
    }

    /// Creates an appointment (`every` and `count` for a daily or weekly series). Returns its id.
    @discardableResult
    public func createAppointment(mailbox smtp: String, subject: String, start: Date, minutes: Int = 30,
                                  every step: TimeInterval? = nil, count: UInt32 = 1, location: String = "Room 1",
                                  meeting: Bool = false) throws(SimError) -> String {
        try locked { () throws(SimError) -> String in
            let mailbox = try requireMailbox(smtp)
            let key = mailbox.nextItemKey
            mailbox.nextItemKey += 1
            var event = CalendarEvent(key: key, subject: subject, organizer: meeting ? "organizer@external.example" : smtp,
                                      location: location, start: start, duration: TimeInterval(minutes * 60),
                                      recurrence: step.map { ($0, max(1, count)) }, changeSequence: mailbox.nextSequence())
            event.isMeeting = meeting
            mailbox.calendar[key] = event
            publishCalendar(mailbox, event, .created)
            if meeting {
                // A meeting request lands as a tentative appointment that the server then updates
                // (response state, free/busy): a create and a modify of the same item.
                event.changeSequence = mailbox.nextSequence()
                mailbox.calendar[key] = event
                publishCalendar(mailbox, event, .modified)
            }
            return calendarItemId(mailbox, event)
        }
    }

    /// Renames a whole appointment or series: every occurrence changes.
    public func renameAppointment(itemId id: String, to subject: String) throws(SimError) {
        try mutateAppointment(id) { mailbox, event, _ in
            event.subject = subject
            event.changeSequence = mailbox.nextSequence()
        }
    }

    /// Moves one occurrence of a series (it becomes an exception).
    public func moveOccurrence(itemId id: String, byMinutes minutes: Int) throws(SimError) {
        try mutateAppointment(id) { (mailbox, event, n) throws(SimError) in
            guard let n, let recurrence = event.recurrence else { throw SimError(.invalidArgument, "not an occurrence") }
            let begins = event.exceptions[n]?.start ?? event.start.addingTimeInterval(Double(n) * recurrence.step)
            event.exceptions[n] = .init(start: begins.addingTimeInterval(TimeInterval(minutes * 60)),
                                        subject: event.exceptions[n]?.subject ?? event.subject, sequence: mailbox.nextSequence())
        }
    }

    /// Deletes one occurrence of a series, or a whole appointment or series.
    public func deleteAppointment(itemId id: String) throws(SimError) {
        try locked { () throws(SimError) in
            guard let (mailbox, event, n) = resolveCalendarItem(id) else { throw SimError(.unknownItem, "no calendar item \(id)") }
            if let n {
                var changed = event
                changed.deleted.insert(n)
                mailbox.calendar[event.key] = changed
                publishCalendar(mailbox, changed, .modified)
            } else {
                mailbox.calendar[event.key] = nil
                publishCalendar(mailbox, event, .deleted)
            }
        }
    }

    private func mutateAppointment(_ id: String,
                                   _ change: (Mailbox, inout CalendarEvent, UInt32?) throws(SimError) -> Void) throws(SimError) {
        try locked { () throws(SimError) in
            guard let (mailbox, event, n) = resolveCalendarItem(id) else { throw SimError(.unknownItem, "no calendar item \(id)") }
            var changed = event
            try change(mailbox, &changed, n)
            mailbox.calendar[event.key] = changed
            publishCalendar(mailbox, changed, .modified)
        }
    }

    /// A calendar item's event in the calendar folder (a series is one item: its master).
    func publishCalendar(_ mailbox: Mailbox, _ event: CalendarEvent, _ kind: SimEvent.Kind) {
        guard let folder = mailbox.folder(distinguished: "calendar") else { return }
        folder.changeSequence = mailbox.sequence
        let now = clock.date()
        var events = [SimEvent(kind: kind, time: now, isFolder: false, id: calendarItemId(mailbox, event),
                               changeKey: kind == .deleted ? nil : SimIds.itemChangeKey(event.changeSequence),
                               parentFolderId: folderId(mailbox, folder), folderScope: [folder.index])]
        if isGromox(mailbox) { events.append(folderModified(mailbox, folder, now)) }
        publish(mailbox, events)
    }
}
