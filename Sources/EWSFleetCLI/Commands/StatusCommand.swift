import ArgumentParser
import Store

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Fleet summary: tenants, mailboxes by state, recent changes.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "table or json") var format: OutputFormat = .table

    func run() async throws {
        let rows = try await withDatabase(global) { _, pool in
            try await pool.withConnection { conn in
                try await conn.query("""
                    SELECT tenant, tenant_state, mailboxes, streaming, syncing, subscribing, backing_off, failed,
                           paused, idle, changes_last_hour, lease_instance
                      FROM tenant_summary ORDER BY tenant
                    """, name: "status.summary").rows
            }
        }
        let columns = ["tenant", "tenant_state", "mailboxes", "streaming", "syncing", "subscribing", "backing_off",
                       "failed", "paused", "idle", "changes_last_hour", "lease_instance"]
        TableOutput(columns: columns, rows: rows.map { row in columns.map { row[$0] } }).print(format)
    }
}
