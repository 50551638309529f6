public import Foundation

/// The column names of one result, shared by all its rows.
final class PostgresColumns: Sendable {
    let names: [String]
    let indexByName: [String: Int]
    let queryName: String
    let target: String

    init(names: [String], queryName: String, target: String) {
        self.names = names
        var index: [String: Int] = [:]
        for (position, name) in names.enumerated() where index[name] == nil { index[name] = position }
        self.indexByName = index
        self.queryName = queryName
        self.target = target
    }
}

/// One result row; values are PostgreSQL text format, nil for NULL.
public struct PostgresRow: Sendable {
    let columns: PostgresColumns
    let values: [String?]

    /// Raw text of `column`; nil for NULL or an unknown column.
    public subscript(column: String) -> String? {
        guard let index = columns.indexByName[column] else { return nil }
        return values[index]
    }

    /// Raw text by position.
    public subscript(index: Int) -> String? { values[index] }

    public var columnNames: [String] { columns.names }

    public func contains(column: String) -> Bool { columns.indexByName[column] != nil }

    /// Decodes `column`; use an Optional type to accept NULL.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = columns.indexByName[column] else {
            throw decodingError(column, type, "no such column (have: \(columns.names.joined(separator: ", ")))")
        }
        do {
            if let text = values[index] { return try T(postgresText: text) }
            return try T.postgresNull()
        } catch let failure as PostgresDecodingFailure {
            throw decodingError(column, type, failure.reason)
        } catch {
            throw decodingError(column, type, "\(error)")
        }
    }

    /// Decodes a `json` / `jsonb` column with `JSONDecoder`.
    public func decodeJSON<T: Decodable>(
        _ column: String, as type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()
    ) throws -> T {
        let text = try decode(column, as: String.self)
        do {
            return try decoder.decode(T.self, from: Data(text.utf8))
        } catch {
            throw decodingError(column, type, "invalid JSON for this type: \(error)")
        }
    }

    private func decodingError(_ column: String, _ type: Any.Type, _ reason: String) -> PostgresError {
        PostgresError(
            code: .decoding, message: "column '\(column)' as \(type): \(reason)",
            queryName: columns.queryName, target: columns.target)
    }
}
