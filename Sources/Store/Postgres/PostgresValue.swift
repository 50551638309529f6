public import Foundation

/// One query parameter, sent in PostgreSQL's text format (or SQL NULL).
///
/// Values always travel separately from the SQL text (`PQexecParams`), so any string, including
/// `'; DROP TABLE x; --`, arrives verbatim. Cast in SQL where the type is not obvious:
/// `$1::timestamptz`, `$2::bytea`, `$3::text[]`.
public struct PostgresValue: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    ExpressibleByStringLiteral, ExpressibleByNilLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral
{
    /// The text sent to the server; nil is SQL NULL.
    public var text: String?

    public init(_ text: String?) { self.text = text }
    public init(_ value: Int) { text = String(value) }
    public init(_ value: Int64) { text = String(value) }
    public init(_ value: Int32) { text = String(value) }
    public init(_ value: UInt64) { text = String(value) }
    public init(_ value: Bool) { text = value ? "true" : "false" }

    public init(_ value: Double) {
        if value.isNaN {
            text = "NaN"
        } else if value.isInfinite {
            text = value < 0 ? "-Infinity" : "Infinity"
        } else {
            text = "\(value)"  // shortest representation that round-trips exactly
        }
    }

    /// ISO 8601 in UTC with microseconds (PostgreSQL's precision), e.g.
    /// `2026-11-24T11:27:54.123456Z`.
    public init(_ value: Date) { text = PostgresTimestamp.format(value) }

    /// `bytea` in hex format: `\x0a1b…`.
    public init(_ value: Data) { text = PostgresHex.encode(value) }

    public init(_ value: UUID) { text = value.uuidString.lowercased() }

    public init(stringLiteral value: String) { text = value }
    public init(nilLiteral: ()) { text = nil }
    public init(integerLiteral value: Int) { text = String(value) }
    public init(booleanLiteral value: Bool) { self.init(value) }

    public static let null = PostgresValue(nil as String?)

    /// A `text[]` literal for `unnest($1::text[])` bulk statements: every element double-quoted
    /// with `\` and `"` escaped, nil as unquoted NULL. Built in one linear pass.
    public static func array(_ elements: [String?]) -> PostgresValue {
        PostgresValue(PostgresArrayLiteral.encode(elements))
    }

    /// An array literal of other values' text (e.g. `$1::boolean[]`, `$2::timestamptz[]`).
    public static func array(values: [PostgresValue]) -> PostgresValue {
        PostgresValue(PostgresArrayLiteral.encode(values.map(\.text)))
    }

    /// JSON text already encoded (UTF-8) for a `jsonb` / `json` parameter.
    public static func jsonb(_ data: Data) -> PostgresValue {
        PostgresValue(String(decoding: data, as: UTF8.self))
    }

    /// `value` encoded with `JSONEncoder` for a `jsonb` / `json` parameter.
    public static func json(_ value: some Encodable, encoder: JSONEncoder = JSONEncoder()) throws
        -> PostgresValue
    {
        .jsonb(try encoder.encode(value))
    }

    /// Never the value itself: parameters may carry secrets and must not reach logs.
    public var description: String { text.map { "<\($0.utf8.count) bytes>" } ?? "NULL" }
    public var debugDescription: String { description }
}
