import Foundation
import NIOHTTP1
import TestSupport
import Testing
@testable import Simulator

/// Per-identity and per-mailbox throttles. In-flight requests are made deterministic by holding a
/// SyncFolderItems page (explicit readiness), never by timing.
@Suite struct ThrottlingTests {
    let mailbox = "user1@tenant1.example"
    let service = "svc:tenant1"

    @Test func defaultsDoNotThrottleOrdinaryTraffic() async throws {
        try await SimFixture.with { sim in
            #expect(sim.world.configuration.budgetBurst == nil)
            #expect(sim.world.configuration.maxConcurrency == 27)
            for _ in 0..<40 {
                let response = try await sim.ews(Soap.syncFolderItems(mailbox))
                #expect(Soap.code(try Soap.messages(response.body)[0]) == "NoError")
            }
            #expect(sim.world.statsSnapshot().throttled.isEmpty)
        }
    }

    @Test func concurrentRequestsPerIdentityGiveErrorExceededConnectionCount() async throws {
        try await SimFixture.with({ $0.maxConcurrency = 1 }) { sim in
            let held = try await sim.holdOneSync(mailbox)
            let refused = try await sim.ews(Soap.getItem(["AAA"], impersonate: "user2@tenant1.example"))
            #expect(refused.status == 200)
            #expect(Soap.code(try Soap.messages(refused.body)[0]) == "ErrorExceededConnectionCount")
            #expect(Soap.messageXmlValue(refused.body, "Policy") == "MaxConcurrency")
            #expect(Soap.messageXmlValue(refused.body, "MaxConcurrencyLimit") == "1")
            #expect(Soap.messageXmlValue(refused.body, "ErrorMessage")?.contains("policy value '1'") == true)
            // Another identity has its own budget.
            let other = try await sim.ews(Soap.syncFolderItems("user2@tenant1.example"), auth: .user("user2@tenant1.example"))
            #expect(Soap.code(try Soap.messages(other.body)[0]) == "NoError")
            sim.world.releaseHeld()
            _ = try await held.value
            let after = try await sim.ews(Soap.syncFolderItems("user2@tenant1.example"))
            #expect(Soap.code(try Soap.messages(after.body)[0]) == "NoError")
            #expect(sim.world.statsSnapshot().throttled["MaxConcurrency"] == 1)
        }
    }

    @Test func hangingConnectionsPerIdentity() async throws {
        try await SimFixture.with({ $0.maxHangingConnections = 1 }) { sim in
            let (first, _) = try await sim.subscribe(mailbox)
            let (second, _) = try await sim.subscribe("user2@tenant1.example")
            let open = try await sim.stream(Soap.getStreamingEvents([first]))
            _ = try await open.readHead()  // the stream is registered before its head is written
            let refused = try await sim.ews(Soap.getStreamingEvents([second]))
            #expect(Soap.code(try Soap.messages(refused.body)[0]) == "ErrorExceededConnectionCount")
            #expect(Soap.messageXmlValue(refused.body, "Policy") == "HangingConnectionLimit")
            #expect(sim.world.statsSnapshot().throttled["HangingConnectionLimit"] == 1)
            await open.close()
        }
    }

    @Test func impersonatedStreamsAreChargedToTheTargetMailboxesBudget() async throws {
        try await SimFixture.with({ $0.maxHangingConnections = 1 }) { sim in
            let other = "user2@tenant1.example"
            let (first, _) = try await sim.subscribe(mailbox)
            let (second, _) = try await sim.subscribe(other)
            // One connection impersonating each mailbox: two budgets, both within the limit of 1.
            let a = try await sim.stream(Soap.getStreamingEvents([first], impersonate: mailbox))
            _ = try await a.readHead()
            let b = try await sim.stream(Soap.getStreamingEvents([second], impersonate: other))
            _ = try await b.readHead()
            #expect(sim.world.statsSnapshot().throttled["HangingConnectionLimit", default: 0] == 0)
            // A second connection impersonating the same mailbox exceeds that mailbox's budget.
            let refused = try await sim.ews(Soap.getStreamingEvents([first], impersonate: mailbox))
            #expect(Soap.code(try Soap.messages(refused.body)[0]) == "ErrorExceededConnectionCount")
            #expect(sim.world.statsSnapshot().throttled["HangingConnectionLimit"] == 1)
            await a.close()
            await b.close()
        }
    }

    @Test func subscriptionsPerMailbox() async throws {
        try await SimFixture.with({ $0.maxSubscriptionsPerMailbox = 2 }) { sim in
            let (first, _) = try await sim.subscribe(mailbox)
            _ = try await sim.subscribe(mailbox)
            let refused = try await sim.ews(Soap.subscribe(mailbox, folders: "<t:DistinguishedFolderId Id=\"inbox\"/>"))
            #expect(Soap.code(try Soap.messages(refused.body)[0]) == "ErrorExceededSubscriptionCount")
            _ = try await sim.subscribe("user2@tenant1.example")  // another mailbox is fine
            _ = try await sim.ews(Soap.unsubscribe(first))
            _ = try await sim.subscribe(mailbox)
            #expect(sim.world.statsSnapshot().throttled["MaxSubscriptions"] == 1)
        }
    }

    @Test func concurrentSyncCallsPerMailboxThenBackOffViolation() async throws {
        try await SimFixture.with({ $0.maxConcurrentSyncCalls = 1 }) { sim in
            let held = try await sim.holdOneSync(mailbox)
            let busy = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(busy.status == 200)
            #expect(Soap.code(try Soap.messages(busy.body)[0]) == "ErrorServerBusy")
            #expect(Soap.messageXmlValue(busy.body, "BackOffMilliseconds") == "5000")
            #expect(Soap.messageXmlValue(busy.body, "Policy") == "ConcurrentSyncCalls")
            // Another mailbox of the same identity is not affected.
            let other = try await sim.ews(Soap.syncFolderItems("user2@tenant1.example"))
            #expect(Soap.code(try Soap.messages(other.body)[0]) == "NoError")
            sim.world.releaseHeld()
            _ = try await held.value
            // Retrying the mailbox a second after the advice was written, inside the advised 5 s,
            // is a violation, charged 5 s more.
            await sim.world.waitUntilAdviceWritten()
            sim.clock.advance(by: .seconds(1))
            let early = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(Soap.faultCode(early.body) == "ErrorServerBusy")
            #expect(Soap.messageXmlValue(early.body, "BackOffMilliseconds") == "9000")
            sim.clock.advance(by: .seconds(9))
            let fine = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(Soap.code(try Soap.messages(fine.body)[0]) == "NoError")
            #expect(sim.world.statsSnapshot().violations(service) == 1)
        }
    }

    @Test func rechargingBudgetAdvisesBackOffAndRecharges() async throws {
        try await SimFixture.with({ $0.budgetBurst = 3; $0.budgetRechargePerSecond = 1 }) { sim in
            for _ in 0..<3 {
                let response = try await sim.ews(Soap.syncFolderItems(mailbox))
                #expect(Soap.code(try Soap.messages(response.body)[0]) == "NoError")
            }
            let busy = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(busy.status == 500)
            #expect(Soap.faultCode(busy.body) == "ErrorServerBusy")
            let backOff = try #require(Int(Soap.messageXmlValue(busy.body, "BackOffMilliseconds") ?? ""))
            #expect(backOff == 1000)
            sim.clock.advance(by: .milliseconds(backOff))
            let fine = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(Soap.code(try Soap.messages(fine.body)[0]) == "NoError")
            let stats = sim.world.statsSnapshot()
            #expect(stats.violations(service) == 0)
            #expect(stats.throttled["Budget"] == 1)
        }
    }
}

/// Throttling answers are valid EWS responses (schema, wire-compat variant).
@Suite(.requiresSchema) struct ThrottlingResponseSchemaTests {
    @Test(arguments: ["SyncFolderItems", "GetItem", "Subscribe", "GetStreamingEvents"])
    func throttlingResponsesValidate(operation: String) throws {
        let validator = try SchemaValidator.shared(schemaDirectory: ResponseSchemaTests.wireCompat)
        let responses = [
            SimWorld.serverBusy(operation, form: .message, backOff: .milliseconds(5000)),
            SimWorld.serverBusy(operation, form: .fault, backOff: .milliseconds(5000)),
            SimWorld.exceededConnections(operation, policy: "MaxConcurrency", limit: 27),
        ]
        for response in responses {
            guard case .full(_, _, let bytes) = response else { Issue.record("not a full response"); continue }
            if case .failure(let error) = SimXMLParser.parse(bytes, validator: validator) {
                Issue.record("\(operation) invalid: \(error.message)\n\(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }
}
