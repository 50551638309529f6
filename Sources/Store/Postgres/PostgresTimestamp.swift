import Foundation
import Support

/// Timestamp text without Foundation formatters: they are slow, allocate, and stop at
/// milliseconds while PostgreSQL keeps microseconds.
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let (days, dayMicros) = CivilCalendar.floorDivide(micros, 86_400_000_000)
        var (year, month, day) = CivilCalendar.civil(fromDays: days)
        let seconds = dayMicros / 1_000_000
        let fraction = dayMicros % 1_000_000
        let pad = CivilCalendar.pad
        var isBC = false
        if year <= 0 {  // astronomical year 0 is 1 BC
            isBC = true
            year = 1 - year
        }
        var text = pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
        text += isBC ? " " : "T"
        text += pad(seconds / 3600, 2) + ":" + pad(seconds / 60 % 60, 2) + ":" + pad(seconds % 60, 2)
        text += "." + pad(fraction, 6)
        text += isBC ? "+00 BC" : "Z"
        return text
    }

    /// Parses `timestamptz` / `timestamp` / `date` output (DateStyle ISO), also with `T` and `Z`.
    static func parse(_ text: String) throws(PostgresDecodingFailure) -> Date {
        switch text {
        case "infinity": return .distantFuture
        case "-infinity": return .distantPast
        default: break
        }
        var scanner = ByteScanner(text)
        guard let year = scanner.number(), scanner.take("-"), let month = scanner.number(digits: 2),
            scanner.take("-"), let day = scanner.number(digits: 2),
            (1...12).contains(month), (1...31).contains(day)
        else { throw PostgresDecodingFailure("not a timestamp") }
        var seconds: Int64 = 0
        var micros: Int64 = 0
        if scanner.take(" ") || scanner.take("T") {
            guard let hour = scanner.number(digits: 2), scanner.take(":"),
                let minute = scanner.number(digits: 2), scanner.take(":"),
                let second = scanner.number(digits: 2)
            else { throw PostgresDecodingFailure("not a timestamp") }
            seconds = hour * 3600 + minute * 60 + second
            if scanner.take(".") {
                var scale: Int64 = 100_000
                while let digit = scanner.digit() {
                    micros += digit * scale
                    scale /= 10
                }
            }
            if scanner.take("Z") {
            } else if let sign = scanner.sign() {
                guard let offsetHours = scanner.number(digits: 2) else {
                    throw PostgresDecodingFailure("bad time zone offset")
                }
                var offset = offsetHours * 3600
                if scanner.take(":"), let minutes = scanner.number(digits: 2) { offset += minutes * 60 }
                if scanner.take(":"), let secs = scanner.number(digits: 2) { offset += secs }
                seconds -= sign * offset
            }
        }
        var astronomicalYear = year
        if scanner.take(" BC") { astronomicalYear = 1 - year }
        guard scanner.isAtEnd else { throw PostgresDecodingFailure("trailing text in timestamp") }
        let days = CivilCalendar.days(fromCivil: astronomicalYear, month, day)
        let whole = days * 86_400 + seconds
        return Date(timeIntervalSince1970: Double(whole) + Double(micros) / 1_000_000)
    }
}

/// A tiny forward-only scanner over UTF-8 bytes.
struct ByteScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    var isAtEnd: Bool { index == bytes.count }

    mutating func take(_ literal: String) -> Bool {
        let needle = Array(literal.utf8)
        guard bytes.count - index >= needle.count,
            bytes[index..<(index + needle.count)].elementsEqual(needle)
        else { return false }
        index += needle.count
        return true
    }

    mutating func digit() -> Int64? {
        guard index < bytes.count, (48...57).contains(bytes[index]) else { return nil }
        defer { index += 1 }
        return Int64(bytes[index] - 48)
    }

    /// Reads exactly `digits` digits, or (nil) at least one digit.
    mutating func number(digits: Int? = nil) -> Int64? {
        let start = index
        var value: Int64 = 0
        while let digit = digit() {
            value = value * 10 + digit
            if let digits, index - start == digits { break }
        }
        if index == start || (digits != nil && index - start != digits) { return nil }
        return value
    }

    mutating func sign() -> Int64? {
        if take("+") { return 1 }
        if take("-") { return -1 }
        return nil
    }
}
