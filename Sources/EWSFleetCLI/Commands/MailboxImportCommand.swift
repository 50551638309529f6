import ArgumentParser
import Foundation
import Store

/// `mailbox import FILE`: a CSV of `tenant,smtp,folders` (folders separated by `;`; empty = inbox,
/// `*` = all folders; an optional header line). Inserted in batches, one multi-row INSERT each.
/// Invalid addresses, unknown tenants and duplicates are reported and skipped; the rest is imported.
struct MailboxImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Add mailboxes from a CSV file (tenant,smtp,folders); - reads stdin.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "CSV file, or - for standard input.") var file: String
    @Option(name: .customLong("batch-size"), help: "Rows per INSERT statement.") var batchSize = 1000
    @Option(help: "table or json (the summary)") var format: OutputFormat = .table
    @Option(help: ArgumentHelp(StartOption.help)) var start: StartOption = .backfill

    func validate() throws {
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1...10000") }
    }

    func run() async throws {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw CLIError(.invalidInput, "cannot read \(file)")
            }
            data = contents
        }
        var parsed = MailboxCSV.parse(String(decoding: data, as: UTF8.self))
        var report = ImportReport(rejected: parsed.rejected)
        try await withDatabase(global) { _, pool in
            let tenants = try await TenantRepository(pool: pool).list()
            let known = Set(tenants.map(\.name))
            let delegating = Set(tenants.filter { !$0.impersonation }.map(\.name))
            parsed.rows.removeAll { row in
                guard known.contains(row.row.tenant) else {
                    report.rejected.append(.init(line: row.line, reason: "unknown tenant \(row.row.tenant)"))
                    return true
                }
                if row.row.watch == .allFolders, delegating.contains(row.row.tenant) {
                    report.rejected.append(.init(line: row.line, reason: "all folders (*) needs a tenant that impersonates"))
                    return true
                }
                return false
            }
            let repository = MailboxRepository(pool: pool)
            var progress = ProgressBar(total: parsed.rows.count)
            var offset = 0
            while offset < parsed.rows.count {
                let batch = parsed.rows[offset..<min(offset + batchSize, parsed.rows.count)]
                let inserted = try await repository.importBatch(batch.map(\.row), start: start.mode)
                report.imported += inserted.count
                var seen = Set<MailboxRepository.ImportKey>()
                for row in batch {
                    if !inserted.contains(row.row.key) || !seen.insert(row.row.key).inserted { report.duplicates.append(row.line) }
                }
                offset += batch.count
                progress.update(offset)
            }
            progress.finish()
        }
        report.print(format)
        if !report.rejected.isEmpty {
            throw CLIError(.invalidInput, "\(report.rejected.count) row(s) rejected (first: line \(report.rejected[0].line): \(report.rejected[0].reason)); the other rows were imported")
        }
    }
}

struct ImportReport {
    struct Rejected { var line: Int; var reason: String }
    var imported = 0
    var duplicates: [Int] = []
    var rejected: [Rejected]

    init(rejected: [Rejected]) { self.rejected = rejected }

    func print(_ format: OutputFormat) {
        // Each problem row on stderr (first 50 of each kind), the summary on stdout.
        for item in rejected.prefix(50) { note("line \(item.line): \(item.reason)") }
        if rejected.count > 50 { note("... and \(rejected.count - 50) more rejected rows") }
        if !duplicates.isEmpty {
            note("\(duplicates.count) duplicate row(s) skipped (lines \(duplicates.prefix(20).map(String.init).joined(separator: ", "))\(duplicates.count > 20 ? ", ..." : ""))")
        }
        TableOutput(columns: ["imported", "duplicates", "rejected"],
                    rows: [[String(imported), String(duplicates.count), String(rejected.count)]]).print(format)
    }
}

enum MailboxCSV {
    struct Row { var line: Int; var row: MailboxRepository.ImportRow }

    static func parse(_ text: String) -> (rows: [Row], rejected: [ImportReport.Rejected]) {
        var rows: [Row] = []
        var rejected: [ImportReport.Rejected] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            if index == 0, fields.first?.lowercased() == "tenant" { continue }
            guard fields.count >= 2, !fields[0].isEmpty else {
                rejected.append(.init(line: index + 1, reason: "expected tenant,smtp[,folders]"))
                continue
            }
            guard let address = SMTPAddress.normalize(fields[1]) else {
                rejected.append(.init(line: index + 1, reason: "invalid email address \(fields[1])"))
                continue
            }
            let folderField = fields.count > 2 ? fields[2] : ""
            let folders = folderField.split(whereSeparator: { $0 == ";" || $0 == " " }).map(String.init)
            let watch: WatchMode = folderField == "*" ? .allFolders : folders.isEmpty ? .default : .folders(folders)
            rows.append(Row(line: index + 1, row: .init(tenant: fields[0], smtpAddress: address, watch: watch)))
        }
        return (rows, rejected)
    }
}
