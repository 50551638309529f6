public import Foundation
import Support

/// The simulator's view of time: offsets from the moment the world was created, read from an
/// injected `Clock<Duration>`, so tests drive heartbeats, TTLs and token expiry in virtual time.
public struct SimClock: Sendable {
    private let nowOffset: @Sendable () -> Duration
    private let sleeper: @Sendable (Duration) async throws -> Void
    /// Wall-clock time at offset zero; timestamps on the wire and in the ledger are epoch + offset.
    public let epoch: Date

    public init<C: Clock>(_ clock: C, epoch: Date = Date()) where C.Duration == Duration {
        let start = clock.now
        self.epoch = epoch
        self.nowOffset = { start.duration(to: clock.now) }
        self.sleeper = { offset in try await clock.sleep(until: start.advanced(by: offset), tolerance: nil) }
    }

    public static var continuous: SimClock { SimClock(ContinuousClock()) }

    /// Time elapsed since the world started.
    public func now() -> Duration { nowOffset() }

    /// Sleeps until the given offset (returns at once if it has passed).
    public func sleep(untilOffset offset: Duration) async throws { try await sleeper(offset) }

    public func date(at offset: Duration) -> Date {
        epoch.addingTimeInterval(offset.inSeconds)
    }

    public func date() -> Date { date(at: now()) }
}

/// ISO-8601 UTC with a `Z`, as EWS writes xs:dateTime values.
enum ISOTime {
    static func string(_ date: Date) -> String {
        let total = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let secondsOfDay = total - days * 86_400
        // Civil-from-days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ width: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month))-\(pad(day))T\(pad(secondsOfDay / 3600)):\(pad(secondsOfDay / 60 % 60)):\(pad(secondsOfDay % 60))Z"
    }
}

extension ISOTime {
    /// With nanoseconds, as gromox stamps notification events (`2026-12-02T07:56:06.813240877Z`).
    static func nanos(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        let whole = seconds.rounded(.down)
        let nanos = min(999_999_999, Int(((seconds - whole) * 1e9).rounded()))
        let digits = String(nanos)
        return String(string(date).dropLast()) + "." + String(repeating: "0", count: 9 - digits.count) + digits + "Z"
    }
}
