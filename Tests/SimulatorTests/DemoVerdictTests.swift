import Foundation
import TestSupport
import Testing
@testable import Simulator

/// `scripts/demo`'s verdict (scripts/lib/demo_verdict.py) against a live ews-sim: it exits 0 only
/// when every mailbox's mirror equals the simulator's ground truth, so the demo's exit status can
/// be trusted. The mirrors here are built from the ground truth, then spoiled.
@Suite struct DemoVerdictTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/lib/demo_verdict.py").path

    @Test func exitsZeroOnlyWhenEveryMailboxConverged() async throws {
        try await SimFixture.with({ $0.tenants = 1; $0.mailboxesPerTenant = 3; $0.itemsPerMailbox = 0 }) { sim in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("verdict-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let tenants = try await RawHTTP.send(port: sim.port, method: .GET, path: "/_sim/tenants").body
            let tenantsFile = directory.appendingPathComponent("tenants.json")
            try Data(tenants.utf8).write(to: tenantsFile)
            var rows: [String] = []
            for mailbox in sim.tenants[0].mailboxes {
                _ = try await sim.control(.POST, "/_sim/deliver", json: #"{"mailbox":"\#(mailbox)","count":2,"folder":"inbox"}"#)
                let truth = try await sim.control(.GET, "/_sim/mailboxes/\(mailbox)/items?folder=inbox")
                for item in truth["items"] as? [[String: Any]] ?? [] {
                    rows.append("\(mailbox)\t\(item["item_id"]!)\t\(item["change_key"]!)\t\((item["is_read"] as? Bool) == true ? "t" : "f")")
                }
            }
            #expect(rows.count == 6)
            let control = "http://127.0.0.1:\(sim.port)/_sim/"
            func verdict(_ mirror: [String], tenantsPath: String = tenantsFile.path) throws -> CommandResult {
                let file = directory.appendingPathComponent("mirror.tsv")
                try Data((mirror.joined(separator: "\n") + "\n").utf8).write(to: file)
                return try CommandRunner.runTool("/usr/bin/python3", [Self.script, tenantsPath, file.path, control])
            }
            let converged = try verdict(rows)
            #expect(converged.status == 0, "\(converged.stdout)\(converged.stderr)")
            #expect(converged.stdout.contains("3 of 3 mailboxes converged"))
            // One item missing from one mirror, one read state wrong: not converged, exit 1.
            let missing = try verdict(Array(rows.dropFirst()))
            #expect(missing.status == 1 && missing.stdout.contains("2 of 3 mailboxes converged"))
            var unread = rows
            let last = unread.count - 1
            unread[last] = String(unread[last].dropLast()) + (unread[last].hasSuffix("\tt") ? "f" : "t")
            #expect(try verdict(unread).status == 1)
            // No mailbox at all proves nothing: exit 1.
            let none = directory.appendingPathComponent("none.json")
            try Data("[]".utf8).write(to: none)
            #expect(try verdict(rows, tenantsPath: none.path).status == 1)
        }
    }
}
