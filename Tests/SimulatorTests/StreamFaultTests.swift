import Foundation
import Testing
@testable import Simulator

/// The misbehaving-server faults: `end_streams` and `refuse_subscriptions`.
@Suite struct StreamFaultTests {
    let mailbox = "user1@tenant1.example"

    func open(_ sim: SimFixture, _ ids: [String], tenant: Int = 0, impersonate: String? = nil) async throws -> RawStream {
        let stream = try await sim.stream(Soap.getStreamingEvents(ids, impersonate: impersonate), tenant: tenant)
        _ = try await stream.readHead()
        return stream
    }

    @Test func endStreamsOkGivesAHeartbeatAndEndsWithoutClosedAndTheSubscriptionLives() async throws {
        try await SimFixture.with { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            let live = try await open(sim, [id])
            #expect(try await live.message().status == "OK")
            let fault = try sim.world.injectFault(SimFault(.endStreams, scope: .mailbox(mailbox)))
            // The stream already open ends the same way.
            #expect(try await live.message().status == "OK")
            #expect(await live.nextEnvelope() == nil && live.ended)
            let next = try await open(sim, [id])
            #expect(try await next.message().status == "OK")
            #expect(await next.nextEnvelope() == nil && next.ended)
            _ = try sim.world.deliver(mailbox: mailbox)  // queued: the subscription is still valid
            sim.world.clearFaults(id: fault)
            let fine = try await open(sim, [id])
            #expect(try await fine.message().status == "OK")
            #expect(try await fine.message().notifications.first?.0 == id)
            #expect(sim.world.statsSnapshot().faultEffects["end_streams"] == 2)
            await fine.close()
        }
    }

    @Test func endStreamsClosedSaysClosedAtOnce() async throws {
        try await SimFixture.with { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            var fault = SimFault(.endStreams, scope: .tenant("tenant1"))
            fault.streamEnd = .closed
            try sim.world.injectFault(fault)
            let stream = try await open(sim, [id])
            #expect(try await stream.message().status == "Closed")
            #expect(await stream.nextEnvelope() == nil)
        }
    }

    @Test func endStreamsEmptyListsWritesGromoxStyleMessagesThenEnds() async throws {
        try await SimFixture.with { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            let body = try await sim.control(.POST, "/_sim/faults",
                                             json: #"{"kind": "end_streams", "form": "empty_lists", "count": 2, "then": "closed"}"#)
            let faultId = try #require(body["id"] as? Int)
            let listed = try #require((try await sim.control(.GET, "/_sim/faults")["faults"] as? [[String: Any]])?.first)
            #expect(listed["form"] as? String == "empty_lists" && listed["count"] as? Int == 2 && listed["then"] as? String == "closed")
            let stream = try await open(sim, [id])
            for _ in 0..<2 {
                let message = try await stream.message()
                #expect(message.responseClass == "Success" && message.code == "NoError")
                #expect(message.text.contains("<m:Notifications/><m:ErrorSubscriptionIds/><m:ConnectionStatus>OK</m:ConnectionStatus>"))
                #expect(message.notifications.isEmpty && Soap.errorIds(message.node).isEmpty)
            }
            #expect(try await stream.message().status == "Closed")
            #expect(await stream.nextEnvelope() == nil)
            _ = try await sim.control(.DELETE, "/_sim/faults?id=\(faultId)")
            _ = try await sim.control(.POST, "/_sim/faults", json: #"{"kind": "end_streams", "form": "empty_lists"}"#)
            let once = try await open(sim, [id])
            #expect(try await once.message().text.contains("<m:Notifications/><m:ErrorSubscriptionIds/>"))
            #expect(await once.nextEnvelope() == nil)  // no Closed without "then"
        }
    }

    @Test(arguments: [#"{"kind": "end_streams", "form": "fault"}"#, #"{"kind": "end_streams", "form": "ok", "then": "closed"}"#,
                      #"{"kind": "end_streams", "form": "empty_lists", "count": 0}"#,
                      #"{"kind": "refuse_subscriptions", "code": "NoError"}"#, #"{"kind": "refuse_subscriptions", "rate": 1}"#])
    func badStreamFaultsAreRefused(json: String) async throws {
        try await SimFixture.with { sim in
            let response = try await RawHTTP.send(port: sim.port, method: .POST, path: "/_sim/faults",
                                                  headers: ["Content-Type": "application/json"], body: json)
            #expect(response.status == 400)
        }
    }

    @Test func refuseSubscriptionsRefusesEveryIdWhileSubscribeKeepsWorking() async throws {
        try await SimFixture.with { sim in
            let (a, _) = try await sim.subscribe(mailbox)
            let (b, _) = try await sim.subscribe(mailbox)
            let fault = try sim.world.injectFault(SimFault(.refuseSubscriptions, scope: .mailbox(mailbox)))
            let stream = try await open(sim, [a, b])
            let refused = try await stream.message()
            #expect(refused.code == "ErrorInvalidSubscription" && Soap.errorIds(refused.node) == [a, b])
            #expect(try await stream.message().status == "Closed")
            #expect(await stream.nextEnvelope() == nil)
            let (c, _) = try await sim.subscribe(mailbox)
            #expect(![a, b].contains(c))
            // Another mailbox is not in scope.
            let (other, _) = try await sim.subscribe("user3@tenant1.example")
            let fine = try await open(sim, [other])
            #expect(try await fine.message().status == "OK")
            await fine.close()
            sim.world.clearFaults(id: fault)
            let again = try await open(sim, [a, b, c])
            #expect(try await again.message().status == "OK")
            await again.close()
            #expect(sim.world.statsSnapshot().faultEffects["refuse_subscriptions"] == 1)
        }
    }

    @Test func refuseSubscriptionsTakesAnyErrorCodeAndSpeaksTheTenantsDialect() async throws {
        try await SimFixture.with({ $0.dialect = .gromox }) { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            _ = try await sim.control(.POST, "/_sim/faults", json: #"{"kind": "refuse_subscriptions", "code": "ErrorSubscriptionNotFound"}"#)
            let stream = try await open(sim, [id], impersonate: mailbox)
            let refused = try await stream.message()
            #expect(refused.code == "ErrorSubscriptionNotFound" && refused.status == "Closed")
            #expect(Soap.unqualifiedErrorIds(refused.node) == [id])
            await stream.close()
        }
    }
}
