public import Foundation

/// How far a calendar folder is watched (`tenant add|update --calendar-window BACK,AHEAD`, e.g.
/// `30d,365d`, the default): the CalendarView runs from the start of the UTC day `daysBack` days
/// ago to the start of the UTC day `daysAhead + 1` days on, so the window moves once a day.
public struct CalendarWindowSetting: Sendable, Equatable, CustomStringConvertible {
    public var daysBack: Int
    public var daysAhead: Int

    public static let `default` = CalendarWindowSetting(daysBack: 30, daysAhead: 365)
    /// Ten years either way: CalendarView expands every occurrence in the window.
    public static let dayLimit = 3650

    public init(daysBack: Int, daysAhead: Int) {
        self.daysBack = daysBack
        self.daysAhead = daysAhead
    }

    /// `BACK,AHEAD` in days, each with an optional `d` (`30d,365d`, `7,90`).
    public init(parsing text: String) throws(StoreError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        func days(_ part: String) -> Int? {
            let digits = part.hasSuffix("d") ? String(part.dropLast()) : part
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int(digits), (0...Self.dayLimit).contains(value)
            else { return nil }
            return value
        }
        guard parts.count == 2, let back = days(parts[0]), let ahead = days(parts[1]) else {
            throw StoreError(.invalidInput, "invalid calendar window \"\(text)\": give BACK,AHEAD in days, e.g. 30d,365d "
                             + "(each 0 to \(Self.dayLimit))")
        }
        self.init(daysBack: back, daysAhead: ahead)
    }

    /// The stored form (`tenants.calendar_window`).
    public var description: String { "\(daysBack)d,\(daysAhead)d" }

    static let day: TimeInterval = 86_400

    /// 00:00 UTC of `now`'s day. UTC has no daylight saving, and Unix time no leap seconds, so a
    /// day is always 86,400 seconds.
    static func startOfDay(_ now: Date) -> Date {
        Date(timeIntervalSince1970: (now.timeIntervalSince1970 / day).rounded(.down) * day)
    }

    /// Seconds from `now` until the window next moves (the next 00:00 UTC), plus a second, so that
    /// a sync started then computes the new window.
    public static func secondsUntilItMoves(from now: Date) -> Double {
        startOfDay(now).addingTimeInterval(day).timeIntervalSince(now) + 1
    }

    /// The window at `now`, bounds at 00:00 UTC.
    public func window(at now: Date) -> (start: Date, end: Date) {
        let today = Self.startOfDay(now)
        return (today.addingTimeInterval(-Double(daysBack) * Self.day), today.addingTimeInterval(Double(daysAhead + 1) * Self.day))
    }
}
