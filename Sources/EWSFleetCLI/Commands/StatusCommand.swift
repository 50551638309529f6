import ArgumentParser
import Foundation
import Store

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Fleet summary: instances, tenants, mailboxes by state, changes per minute, throttled identities.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Detail of one tenant: its mailboxes and their states.") var tenant: String?
    @Flag(help: "Mailboxes that are not streaming or whose last sync is over 30 minutes old.") var lagging = false
    @Flag(help: "Mailboxes with consecutive failures and their last error.") var errors = false
    @Flag(help: "Refresh in place every --interval seconds until interrupted.") var watch = false
    @Option(help: "Seconds between refreshes with --watch.") var interval = 2
    @Option(help: "table or json") var format: OutputFormat = .table

    func validate() throws {
        if [tenant != nil, lagging, errors].filter({ $0 }).count > 1 {
            throw ValidationError("give at most one of --tenant, --lagging, --errors")
        }
        guard interval >= 1 else { throw ValidationError("--interval must be at least 1") }
    }

    func run() async throws {
        try await withDatabase(global) { _, pool in
            let queries = StatusQueries(pool: pool)
            repeat {
                let sections: [StatusSection] =
                    if let tenant { try await queries.tenantDetail(tenant) }
                    else if lagging { [try await queries.lagging()] }
                    else if errors { [try await queries.errors()] }
                    else { try await queries.summary() }
                let text = StatusSection.render(sections, format: format)
                // ANSI: cursor home + clear screen, so the view refreshes in place.
                print(watch ? "\u{1B}[H\u{1B}[2J" + text : text)
                fflush(nil)  // all streams; `stdout` itself is not concurrency-safe to name
                if watch { try await Task.sleep(for: .seconds(interval)) }
            } while watch && !Task.isCancelled
        }
    }
}

/// One titled table of a status view.
struct StatusSection {
    var title: String
    var table: TableOutput

    static func render(_ sections: [StatusSection], format: OutputFormat) -> String {
        switch format {
        case .table:
            return sections.map { "== \($0.title) ==\n" + $0.table.render(.table) }.joined(separator: "\n\n")
        case .json:
            var object: [String: Any] = [:]
            for section in sections {
                let data = Data(section.table.render(.json).utf8)
                object[section.title] = (try? JSONSerialization.jsonObject(with: data)) ?? []
            }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data("{}".utf8)
            return String(decoding: data, as: UTF8.self)
        }
    }
}
