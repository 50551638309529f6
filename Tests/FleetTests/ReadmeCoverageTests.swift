import Foundation
import Testing
@testable import Fleet

/// The README is the operator's reference: what the service reads and reports must be in it. The
/// oracles are the code's own lists (the states, the keys `ServiceConfiguration` reads), not the
/// README's.
@Suite struct ReadmeCoverageTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    static func row(_ readme: String, startingWith prefix: String) -> String? {
        readme.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
    }

    @Test func everyMailboxStateIsInTheStatesMetricAndTheStatusTable() throws {
        let readme = try Self.text("README.md")
        let metric = try #require(Self.row(readme, startingWith: "| `ewsf_mailboxes`"))
        let column = try #require(Self.row(readme, startingWith: "| `state` | `idle`"))
        for state in MailboxStatusState.allCases.map(\.rawValue) {
            #expect(metric.contains("`\(state)`"), "ewsf_mailboxes omits \(state)")
            #expect(column.contains("`\(state)`"), "mailbox_status.state omits \(state)")
        }
        #expect(metric.contains("`stale`"))
    }

    @Test func everyConfigurationKeyTheServiceReadsIsDocumented() throws {
        let readme = try Self.text("README.md")
        let source = try Self.text("Sources/EWSFleetCLI/Configuration/ServiceConfiguration.swift")
        let pattern = try Regex(#"(?:forKey|ms): "([a-z]+\.[A-Za-z]+)""#)
        let keys = Set(source.matches(of: pattern).map { String($0.output[1].substring!) })
        #expect(keys.count >= 20, "the key pattern still finds the keys")
        for key in keys.sorted() {
            #expect(readme.contains("`\(key)`"), "README's configuration table omits \(key)")
        }
        // The throttling keys seed `tenant add`; `run` reads the tenant rows. The README says so.
        let throttling = try #require(Self.row(readme, startingWith: "| `throttling.maxConcurrentRequests`"))
        #expect(throttling.contains("read by `tenant add` only"))
    }
}
