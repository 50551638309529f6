import Crypto
import Foundation

/// One `-- migration: N name` section of schema.sql.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
    /// SHA-256 of the section text, recorded when applied: a changed section is refused, not re-run.
    public var checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The migrations compiled into this binary from schema.sql.
    public static var bundled: [Migration] {
        get throws(MigrationError) { try parse(String(decoding: PackageResources.schema_sql, as: UTF8.self)) }
    }

    /// Splits schema.sql into its sections. Versions must start at 1 and increase by one.
    public static func parse(_ text: String) throws(MigrationError) -> [Migration] {
        var result: [Migration] = []
        var header: (version: Int, name: String)?
        var body: [Substring] = []

        func finish() {
            if let header {
                let sql = body.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
                result.append(Migration(version: header.version, name: header.name, sql: sql))
            }
            body = []
        }

        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("-- migration:") {
                finish()
                let words = trimmed.dropFirst("-- migration:".count).split(separator: " ", maxSplits: 1)
                guard let first = words.first, let version = Int(first), words.count == 2 else {
                    throw MigrationError("malformed migration header: \(trimmed)")
                }
                guard version == (result.last?.version ?? 0) + 1 else {
                    throw MigrationError("migration \(version) is out of order (expected \((result.last?.version ?? 0) + 1))")
                }
                header = (version, String(words[1]))
            } else if header != nil {
                body.append(line)
            }
        }
        finish()
        guard !result.isEmpty else { throw MigrationError("schema.sql has no `-- migration:` sections") }
        return result
    }
}

public struct MigrationError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
