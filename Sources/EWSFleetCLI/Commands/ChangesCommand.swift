import ArgumentParser
import Foundation
import Store

struct ChangesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "changes", abstract: "Read and prune the changes outbox.",
        subcommands: [ChangesTailCommand.self, ChangesPruneCommand.self])
}

/// Prints outbox rows through `OutboxFollower`: (txid, id) order, never skipping a row that commits
/// late. With `--consumer` the position is kept in `consumers` and saved after each printed batch,
/// so a restarted tail resumes where it stopped; rows are printed at least once.
struct ChangesTailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print recent changes; --follow keeps printing new ones; --consumer resumes a named position.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this tenant.") var tenant: String?
    @Option(help: "Only this mailbox (SMTP address).") var mailbox: String?
    @Flag(help: "Keep printing new changes until interrupted.") var follow = false
    @Option(help: "Named consumer: start after its saved position and save the position after each batch.")
    var consumer: String?
    @Option(help: "Without --consumer: how many of the most recent changes to print first.") var lines = 20
    @Option(help: "table or json (json: one object per line)") var format: OutputFormat = .table

    func validate() throws {
        guard lines >= 0 else { throw ValidationError("--lines must not be negative") }
        if let consumer, consumer.isEmpty || consumer.count > 200 { throw ValidationError("--consumer needs a name of 1 to 200 characters") }
    }

    func run() async throws {
        try await withDatabase(global) { _, pool in
            let follower = OutboxFollower(pool: pool, filter: OutboxFilter(tenant: tenant, mailbox: mailbox))
            let consumers = ConsumerRepository(pool: pool)
            var position: OutboxPosition
            if let consumer {
                position = try await consumers.position(of: consumer)
            } else {
                position = try await ChangesTail.startPosition(pool: pool, filter: follower.filter, lines: lines)
            }
            // Without --follow, print what is visible now and stop, even while changes keep arriving.
            let end = follow ? nil : try await ChangesTail.endPosition(pool: pool, filter: follower.filter)
            var printer = ChangesPrinter(format: format)
            var failures = 0
            while !Task.isCancelled {
                var batch: [OutboxRecord]
                do {
                    batch = try await follower.fetch(after: position, limit: follower.batchSize)
                    failures = 0
                } catch let error as PostgresError where follow && error.isRetryable {
                    // Resume from the same position once the database is back.
                    failures += 1
                    note("database unavailable, retrying: \(error)")
                    try await Task.sleep(for: .milliseconds(min(30_000, 500 << min(failures, 6))))
                    continue
                }
                if let end { batch.removeAll { $0.position > end } }
                if batch.isEmpty {
                    guard follow else { break }
                    try await Task.sleep(for: follower.pollInterval)
                    continue
                }
                printer.print(batch)
                position = batch[batch.count - 1].position
                if let consumer { try await consumers.save(position, for: consumer) }
            }
        }
    }
}

enum ChangesTail {
    /// The last visible row matching `filter` now (`.start` when there is none).
    static func endPosition(pool: PostgresPool, filter: OutboxFilter) async throws -> OutboxPosition {
        try await startPosition(pool: pool, filter: filter, lines: 0)
    }

    /// The position just before the last `lines` visible rows matching `filter`.
    static func startPosition(pool: PostgresPool, filter: OutboxFilter, lines: Int) async throws -> OutboxPosition {
        // Ordered by the xid8 itself, not by its text: as text, "999" sorts after "1000", and
        // once transaction ids gain a digit the "last rows" would be the old ones.
        let rows = try await pool.withConnection { conn in
            try await conn.query("""
                SELECT txid::text AS txid_text, id FROM changes
                 WHERE txid < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
                   AND ($1::text IS NULL OR tenant = $1::text)
                   AND ($2::text IS NULL OR mailbox = $2::text)
                 ORDER BY changes.txid DESC, id DESC OFFSET $3::bigint LIMIT 1
                """, [PostgresValue(filter.tenant), PostgresValue(filter.mailbox), PostgresValue(lines)],
                name: "changes.tail_start").rows
        }
        guard let row = rows.first else { return .start }
        return OutboxPosition(txid: try row.decode("txid_text"), id: try row.decode("id"))
    }
}

struct ChangesPruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete changes older than the retention that every registered consumer has passed.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Keep changes younger than this: e.g. 30d, 12h, 90m, 45s.") var retention = "7d"
    @Option(name: .customLong("preview-retention"),
            help: "Also remove body previews (personal data) from changes older than this, whatever the consumers.")
    var previewRetention: String?

    func run() async throws {
        guard let duration = RetentionDuration.parse(retention) else {
            throw CLIError(.usage, "--retention \(retention) is not a duration like 30d, 12h, 90m or 45s")
        }
        let previewDuration = try previewRetention.map { text in
            guard let d = RetentionDuration.parse(text) else {
                throw CLIError(.usage, "--preview-retention \(text) is not a duration like 30d, 12h, 90m or 45s")
            }
            return d
        }
        let (deleted, stripped) = try await withDatabase(global) { _, pool in
            let repository = ConsumerRepository(pool: pool)
            let deleted = try await repository.prune(olderThan: duration)
            var stripped: Int?
            if let previewDuration { stripped = try await repository.stripBodyPreviews(olderThan: previewDuration) }
            return (deleted, stripped)
        }
        note("pruned \(deleted) changes older than \(retention)")
        if let stripped, let previewRetention { note("removed the body preview of \(stripped) changes older than \(previewRetention)") }
        print(deleted)
    }
}

enum RetentionDuration {
    static func parse(_ text: String) -> Duration? {
        guard let unit = text.last, let value = Int(text.dropLast()), value >= 0 else { return nil }
        switch unit {
        case "d": return .seconds(value * 86_400)
        case "h": return .seconds(value * 3_600)
        case "m": return .seconds(value * 60)
        case "s": return .seconds(value)
        default: return nil
        }
    }
}
