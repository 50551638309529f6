public import Foundation

/// A Swift type that can be built from a PostgreSQL text-format result value.
public protocol PostgresDecodable {
    init(postgresText: String) throws
    /// The value for SQL NULL; the default throws (only `Optional` accepts NULL).
    static func postgresNull() throws -> Self
}

extension PostgresDecodable {
    public static func postgresNull() throws -> Self {
        throw PostgresDecodingFailure("unexpected NULL")
    }
}

/// Why one value could not be decoded; `PostgresRow.decode` wraps it into a `PostgresError`
/// naming the column, query and database.
public struct PostgresDecodingFailure: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init(postgresText: String) throws { self = .some(try Wrapped(postgresText: postgresText)) }
    public static func postgresNull() throws -> Self { nil }
}

extension String: PostgresDecodable {
    public init(postgresText: String) { self = postgresText }
}

/// Every integer column decodes the same way: the text must be the whole number, in range
/// (`xid8` values are `UInt64`).
extension PostgresDecodable where Self: FixedWidthInteger {
    public init(postgresText: String) throws {
        guard let value = Self(postgresText) else {
            throw PostgresDecodingFailure("not a\(Self.isSigned ? "" : "n unsigned") \(Self.bitWidth)-bit integer")
        }
        self = value
    }
}

extension Int: PostgresDecodable {}
extension Int64: PostgresDecodable {}
extension Int32: PostgresDecodable {}
extension UInt64: PostgresDecodable {}

extension Bool: PostgresDecodable {
    public init(postgresText: String) throws {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw PostgresDecodingFailure("not a boolean")
        }
    }
}

extension Double: PostgresDecodable {
    public init(postgresText: String) throws {
        switch postgresText {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(postgresText), value.isFinite else {
                throw PostgresDecodingFailure("not a number")
            }
            self = value
        }
    }
}

extension Date: PostgresDecodable {
    /// `timestamptz` (the pool sets TimeZone UTC and DateStyle ISO), `timestamp` (taken as
    /// UTC) or `date` (midnight UTC).
    public init(postgresText: String) throws { self = try PostgresTimestamp.parse(postgresText) }
}

extension Data: PostgresDecodable {
    /// `bytea` in hex output format (the server default).
    public init(postgresText: String) throws { self = try PostgresHex.decode(postgresText) }
}

extension UUID: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let value = UUID(uuidString: postgresText) else { throw PostgresDecodingFailure("not a UUID") }
        self = value
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    /// One-dimensional arrays, e.g. `text[]`, `bigint[]`; NULL elements need `[T?]`.
    public init(postgresText: String) throws {
        self = try PostgresArrayLiteral.decode(postgresText).map { element in
            if let element { try Element(postgresText: element) } else { try Element.postgresNull() }
        }
    }
}
