import TestSupport
import Foundation
import Testing
@testable import Simulator

@Suite struct ControlAPITests {
    @Test func tenantsListCredentialsEndpointsAndMailboxes() async throws {
        try await SimFixture.with { sim in
            let response = try await RawHTTP.send(port: sim.port, method: .GET, path: "/_sim/tenants")
            let tenants = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [[String: Any]] ?? []
            #expect(tenants.count == 2)
            let first = tenants[0]
            for key in ["name", "ews_url", "autodiscover_url", "token_url", "username", "password", "client_id", "client_secret"] {
                #expect(first[key] is String, "missing \(key)")
            }
            #expect(first["ews_url"] as? String == "http://127.0.0.1:\(sim.port)/t/tenant1/EWS/Exchange.asmx")
            #expect((first["mailboxes"] as? [String])?.first == "user1@tenant1.example")
        }
    }

    @Test func deliverThenGroundTruthAndLedgerAgree() async throws {
        try await SimFixture.with({ $0.itemsPerMailbox = 0 }) { sim in
            let delivered = try await sim.control(.POST, "/_sim/deliver",
                                                  json: #"{"mailbox":"user2@tenant1.example","count":3,"folder":"inbox"}"#)
            let ids = try #require(delivered["item_ids"] as? [String])
            #expect(ids.count == 3)
            _ = try await sim.control(.POST, "/_sim/read", json: #"{"item_id":"\#(ids[0])","is_read":true}"#)
            let items = try await sim.control(.GET, "/_sim/mailboxes/user2@tenant1.example/items?folder=inbox")
            let rows = items["items"] as? [[String: Any]] ?? []
            #expect(rows.count == 3)
            let row = rows.first { $0["item_id"] as? String == ids[0] }
            #expect(row?["is_read"] as? Bool == true)
            #expect(row?["change_key"] is String && row?["subject"] is String)
            let ledger = try await sim.control(.GET, "/_sim/ledger?mailbox=user2@tenant1.example")
            let entries = ledger["entries"] as? [[String: Any]] ?? []
            #expect(entries.map { $0["kind"] as? String } == ["created", "created", "created", "read"])
            #expect(entries.allSatisfy { $0["time"] is String && $0["timestamp"] is Double })
            #expect(ledger["dropped"] as? Int == 0)
            let lastSequence = try #require(entries.last?["sequence"] as? Int)
            let later = try await sim.control(.GET, "/_sim/ledger?mailbox=user2@tenant1.example&since=\(lastSequence - 1)")
            #expect((later["entries"] as? [[String: Any]])?.count == 1)
            let unknown = try await RawHTTP.send(port: sim.port, method: .GET, path: "/_sim/ledger?mailbox=nobody@x")
            #expect(unknown.status == 404)
        }
    }

    @Test func foldersAreCreatedAndDeletedThroughTheControlAPI() async throws {
        try await SimFixture.with({ $0.itemsPerMailbox = 0 }) { sim in
            let created = try await sim.control(.POST, "/_sim/folders", json: #"{"mailbox":"user2@tenant1.example","name":"Tmp"}"#)
            #expect(created["folder_id"] is String)
            _ = try await sim.control(.POST, "/_sim/deliver", json: #"{"mailbox":"user2@tenant1.example","count":2,"folder":"Tmp"}"#)
            let deleted = try await sim.control(.POST, "/_sim/folders/delete", json: #"{"mailbox":"user2@tenant1.example","folder":"Tmp"}"#)
            #expect(deleted["ok"] as? Bool == true)
            let gone = try await sim.control(.GET, "/_sim/mailboxes/user2@tenant1.example/items?folder=Tmp")
            #expect(gone["error"] as? String == "unknownFolder")
            let ledger = try await sim.control(.GET, "/_sim/ledger?mailbox=user2@tenant1.example")
            let kinds = (ledger["entries"] as? [[String: Any]] ?? []).map { $0["kind"] as? String }
            #expect(kinds == ["folder_created", "created", "created", "deleted", "deleted"])
            let inbox = try await sim.control(.POST, "/_sim/folders/delete", json: #"{"mailbox":"user2@tenant1.example","folder":"inbox"}"#)
            #expect(inbox["error"] as? String == "invalidArgument")
        }
    }

    @Test func statsCountRequestsByOperationAndCode() async throws {
        try await SimFixture.with { sim in
            _ = try await sim.ews(Soap.syncFolderItems("user1@tenant1.example"))
            _ = try await sim.ews(Soap.syncFolderItems("user1@tenant1.example"), auth: .none)
            _ = try await sim.subscribe("user1@tenant1.example")
            let stats = try await sim.control(.GET, "/_sim/stats")
            let requests = stats["requests"] as? [String: [String: Int]] ?? [:]
            #expect(requests["SyncFolderItems"]?["200"] == 1)
            #expect(requests["Unauthorized"]?["401"] == 1)
            #expect(stats["subscriptions"] as? Int == 1)
            #expect(stats["open_connections"] is Int)
        }
    }

    @Test func trafficProducesReproducibleActivityAndStops() async throws {
        func run(seed: UInt64) async throws -> [String] {
            try await SimFixture.with({ $0.seed = seed; $0.tenants = 1 }) { sim in
                _ = try await sim.control(.POST, "/_sim/traffic", json: #"{"rate":200,"mix":{"new_mail":1,"read":1,"move":1,"delete":1,"folder_create":1,"flag":1}}"#)
                // Ten 50 ms ticks of virtual time = 100 actions.
                for _ in 0..<10 {
                    await waitForSleeper(sim.clock)
                    sim.clock.advance(by: .milliseconds(50))
                }
                await waitForActions(sim.server.traffic, 100)
                _ = try await sim.control(.POST, "/_sim/traffic", json: #"{"rate":0}"#)
                var kinds: [String] = []
                for mailbox in sim.tenants[0].mailboxes {
                    kinds += try sim.world.ledger(mailbox: mailbox).map { "\(mailbox):\($0.kind):\($0.itemId ?? "")" }
                }
                return kinds
            }
        }
        let a = try await run(seed: 42)
        let b = try await run(seed: 42)
        #expect(a.count == 100)
        #expect(a == b)
        #expect(Set(a.map { $0.split(separator: ":")[1] }).count >= 4)
    }

    @Test func recordSavesEveryRequestBody() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ews-sim-record-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await SimFixture.with({ $0.recordDirectory = directory }) { sim in
            _ = try await sim.ews(Soap.syncFolderItems("user1@tenant1.example"))
            _ = try await sim.subscribe("user1@tenant1.example")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files == ["000001-SyncFolderItems.xml", "000002-Subscribe.xml"])
    }
}

/// Readiness: the traffic task is parked on the clock (not a sleep-and-hope: it waits for a fact).
func waitForSleeper(_ clock: ManualClock) async {
    while clock.sleeperCount == 0 { await Task.yield() }
}

func waitForActions(_ traffic: TrafficGenerator, _ count: Int) async {
    while traffic.actions < count { await Task.yield() }
}
