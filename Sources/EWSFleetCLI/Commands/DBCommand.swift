import ArgumentParser
import Foundation
import Store

struct DBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Database schema management.",
        subcommands: [DBMigrateCommand.self, DBVersionCommand.self])
}

struct DBMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the migrations of schema.sql that the database lacks (idempotent).")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await withDatabase(global) { _, pool in
            let report = try await Migrator(pool: pool).migrate()
            let message = report.applied.isEmpty
                ? "schema is up to date at version \(report.current)"
                : "applied migration(s) \(report.applied.map(String.init).joined(separator: ", ")); schema at version \(report.current)"
            FileHandle.standardError.write(Data("ewsfleet: \(message)\n".utf8))
        }
    }
}

struct DBVersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Print the database's schema version and this binary's.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await withDatabase(global) { _, pool in
            let migrator = try Migrator(pool: pool)
            let current = try await migrator.currentVersion()
            print("database \(current.map(String.init) ?? "none") binary \(migrator.latestVersion)")
        }
    }
}
