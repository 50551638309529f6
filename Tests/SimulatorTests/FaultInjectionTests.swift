import Foundation
import NIOHTTP1
import Testing
@testable import Simulator

/// Each injected fault, through the library calls and the `/_sim/faults` control API.
@Suite struct FaultInjectionTests {
    let mailbox = "user1@tenant1.example"
    let service = "svc:tenant1"

    func next(_ stream: RawStream) async throws -> SimXMLNode {
        guard let envelope = await stream.nextEnvelope() else { throw RawStream.Failure(reason: "stream ended") }
        return try Soap.streamMessage(envelope)
    }

    func openStream(_ sim: SimFixture, _ ids: [String]) async throws -> RawStream {
        let stream = try await sim.stream(Soap.getStreamingEvents(ids))
        _ = try await stream.readHead()
        #expect(Soap.connectionStatus(try await next(stream)) == "OK")
        return stream
    }

    @Test func dropStreamsWithClosedEndsTheStreamAndKeepsSubscriptions() async throws {
        try await SimFixture.with { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            let stream = try await openStream(sim, [id])
            try sim.world.injectFault(SimFault(.dropStreams, scope: .tenant("tenant1")))
            #expect(Soap.connectionStatus(try await next(stream)) == "Closed")
            #expect(await stream.nextEnvelope() == nil)
            let again = try await openStream(sim, [id])  // the subscription survived
            await again.close()
            #expect(sim.world.statsSnapshot().faultEffects["drop_streams"] == 1)
        }
    }

    @Test func dropStreamsWithoutClosedJustEndsTheSocket() async throws {
        try await SimFixture.with { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            let stream = try await openStream(sim, [id])
            var fault = SimFault(.dropStreams, scope: .identity(service))
            fault.withClosed = false
            try sim.world.injectFault(fault)
            #expect(await stream.nextEnvelope() == nil)
            #expect(stream.ended)
        }
    }

    @Test func stalledStreamWritesNothingMore() async throws {
        try await SimFixture.with { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            let stream = try await openStream(sim, [id])
            try sim.world.injectFault(SimFault(.stallStreams, scope: .mailbox(mailbox)))
            _ = try sim.world.deliver(mailbox: mailbox)
            sim.clock.advance(by: .seconds(45))  // a heartbeat is due, and is not written
            var drop = SimFault(.dropStreams)
            drop.withClosed = false
            try sim.world.injectFault(drop)
            // Writes and the close run in order on one event loop: anything written before the
            // close would show up here.
            #expect(await stream.nextEnvelope() == nil)
            #expect(sim.world.statsSnapshot().faultEffects["stall_streams"] == 1)
        }
    }

    @Test(arguments: ["ErrorSubscriptionNotFound", "ErrorInvalidSubscription"])
    func expiredSubscriptionsAnswerTheirCodeOnTheNextStream(code: String) async throws {
        try await SimFixture.with { sim in
            let (gone, _) = try await sim.subscribe(mailbox)
            let (kept, _) = try await sim.subscribe("user2@tenant1.example")
            var fault = SimFault(.expireSubscriptions, scope: .mailbox(mailbox))
            fault.code = code
            try sim.world.injectFault(fault)
            let stream = try await sim.stream(Soap.getStreamingEvents([gone, kept]))
            _ = try await stream.readHead()
            var sawError = false
            for _ in 0..<3 {
                let message = try await next(stream)
                if Soap.code(message) == code {
                    #expect(Soap.errorIds(message) == [gone])
                    sawError = true
                    break
                }
            }
            #expect(sawError)
            await stream.close()
        }
    }

    @Test func expiringAnAttachedSubscriptionTellsItsStream() async throws {
        try await SimFixture.with { sim in
            let (id, _) = try await sim.subscribe(mailbox)
            let stream = try await openStream(sim, [id])
            try sim.world.injectFault(SimFault(.expireSubscriptions))
            #expect(Soap.code(try await next(stream)) == "ErrorSubscriptionNotFound")
            #expect(Soap.connectionStatus(try await next(stream)) == "Closed")
        }
    }

    @Test func invalidatedSyncStateFailsTheNextStatefulSyncOnly() async throws {
        try await SimFixture.with { sim in
            let first = try Soap.messages(try await sim.ews(Soap.syncFolderItems(mailbox)).body)[0]
            let state = try #require(first.child(NS.messages, "SyncState")?.trimmedText)
            try sim.world.injectFault(SimFault(.invalidateSyncStates, scope: .mailbox(mailbox)))
            let other = try Soap.messages(try await sim.ews(Soap.syncFolderItems("user2@tenant1.example", state: nil)).body)[0]
            #expect(Soap.code(other) == "NoError")
            let failed = try Soap.messages(try await sim.ews(Soap.syncFolderItems(mailbox, state: state)).body)[0]
            #expect(Soap.code(failed) == "ErrorInvalidSyncStateData")
            let again = try Soap.messages(try await sim.ews(Soap.syncFolderItems(mailbox, state: state)).body)[0]
            #expect(Soap.code(again) == "NoError")
            #expect(sim.world.statsSnapshot().faultEffects["invalidate_sync_states"] == 1)
        }
    }

    @Test func hardThrottleAsFaultThenViolationExtendsTheBackOff() async throws {
        try await SimFixture.with { sim in
            var fault = SimFault(.throttle, scope: .identity(service))
            fault.seconds = 30
            try sim.world.injectFault(fault)
            let busy = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(busy.status == 500)
            #expect(Soap.faultCode(busy.body) == "ErrorServerBusy")
            #expect(Soap.messageXmlValue(busy.body, "BackOffMilliseconds") == "30000")
            // Sending again a second after the advice was written (past the 50 ms grace) violates
            // it and is charged another 30 s.
            await sim.world.waitUntilAdviceWritten()
            sim.clock.advance(by: .seconds(1))
            let again = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(Soap.messageXmlValue(again.body, "BackOffMilliseconds") == "59000")
            #expect(sim.world.statsSnapshot().violations(service) == 1)
            // A user identity is not in scope.
            let user = try await sim.ews(Soap.syncFolderItems(mailbox), auth: .user(mailbox))
            #expect(Soap.code(try Soap.messages(user.body)[0]) == "NoError")
            sim.clock.advance(by: .seconds(59))
            let fine = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(Soap.code(try Soap.messages(fine.body)[0]) == "NoError")
            let stats = sim.world.statsSnapshot()
            #expect(stats.violations(service) == 1)
            #expect(stats.violations("user:\(mailbox)") == 0)
        }
    }

    @Test func anAdvisedBackOffHoldsTheImpersonatedMailboxesBudgetOnly() async throws {
        try await SimFixture.with { sim in
            var fault = SimFault(.throttle, scope: .identity(service))
            fault.seconds = 30
            try sim.world.injectFault(fault)
            let other = "user2@tenant1.example"
            #expect(Soap.faultCode(try await sim.ews(Soap.syncFolderItems(mailbox)).body) == "ErrorServerBusy")
            // Another impersonated mailbox has its own budget: its first refusal is no violation.
            #expect(Soap.faultCode(try await sim.ews(Soap.syncFolderItems(other)).body) == "ErrorServerBusy")
            #expect(sim.world.statsSnapshot().violations(service) == 0)
            // The same mailbox again inside its back-off, past the grace, is one.
            await sim.world.waitUntilAdviceWritten(count: 2)
            sim.clock.advance(by: .seconds(1))
            let again = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(Soap.messageXmlValue(again.body, "BackOffMilliseconds") == "59000")
            #expect(sim.world.statsSnapshot().violations(service) == 1)
        }
    }

    @Test func hardThrottleAsResponseMessageAndAWellBehavedClient() async throws {
        try await SimFixture.with { sim in
            let body = try await sim.control(.POST, "/_sim/faults",
                                             json: #"{"kind": "throttle", "tenant": "tenant1", "seconds": 12.5, "form": "message"}"#)
            #expect(body["id"] as? Int == 1)
            let busy = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(busy.status == 200)
            #expect(Soap.code(try Soap.messages(busy.body)[0]) == "ErrorServerBusy")
            let backOff = try #require(Int(Soap.messageXmlValue(busy.body, "BackOffMilliseconds") ?? ""))
            #expect(backOff == 12500)
            sim.clock.advance(by: .milliseconds(backOff))
            let fine = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(Soap.code(try Soap.messages(fine.body)[0]) == "NoError")
            let stats = try await sim.control(.GET, "/_sim/stats")
            #expect((stats["backoff_violations"] as? [String: Int])?[service] == 0)
            #expect((stats["fault_effects"] as? [String: Int])?["throttle"] == 1)
        }
    }

    @Test func http500And503AndMalformedXML() async throws {
        try await SimFixture.with { sim in
            let id500 = try sim.world.injectFault(SimFault(.http500))
            #expect(try await sim.ews(Soap.syncFolderItems(mailbox)).status == 500)
            sim.world.clearFaults(id: id500)
            var with = SimFault(.http503)
            with.retryAfter = 7
            let id503 = try sim.world.injectFault(with)
            let unavailable = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(unavailable.status == 503)
            #expect(unavailable.headers.first(name: "Retry-After") == "7")
            sim.world.clearFaults(id: id503)
            let bare = try sim.world.injectFault(SimFault(.http503))
            let noHeader = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(noHeader.status == 503)
            #expect(noHeader.headers["Retry-After"].isEmpty)
            sim.world.clearFaults(id: bare)
            try sim.world.injectFault(SimFault(.malformedXML))
            let malformed = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(malformed.status == 200)
            #expect((try? Soap.parse(malformed.body)) == nil)
            let effects = sim.world.statsSnapshot().faultEffects
            #expect(effects["http_500"] == 1 && effects["http_503"] == 2 && effects["malformed_xml"] == 1)
        }
    }

    @Test func aFractionOfRequestsFailsWithSeededRandomness() async throws {
        try await SimFixture.with { sim in
            var fault = SimFault(.http500, scope: .mailbox(mailbox))
            fault.fraction = 0.5
            try sim.world.injectFault(fault)
            var failures = 0
            for _ in 0..<30 where try await sim.ews(Soap.syncFolderItems(mailbox)).status == 500 { failures += 1 }
            #expect(failures > 3 && failures < 27)
            #expect(sim.world.statsSnapshot().faultEffects["http_500"] == failures)
            // Another mailbox is out of scope.
            #expect(try await sim.ews(Soap.syncFolderItems("user2@tenant1.example")).status == 200)
        }
    }

    @Test func slowResponseWaitsOnTheInjectedClock() async throws {
        try await SimFixture.with { sim in
            var fault = SimFault(.slow)
            fault.seconds = 5
            try sim.world.injectFault(fault)
            let request = sim.sendLater(Soap.syncFolderItems(mailbox))
            await sim.world.waitForFaultEffect(.slow)
            // Still in flight: its ticket is only returned once the delay has passed.
            #expect(sim.world.requestsInFlight(identity: service) == 1)
            sim.clock.advance(by: .seconds(5))
            let response = try await request.value
            #expect(Soap.code(try Soap.messages(response.body)[0]) == "NoError")
            #expect(sim.world.requestsInFlight(identity: service) == 0)
        }
    }

    @Test func holdTheSecondSyncPageUntilReleased() async throws {
        try await SimFixture.with { sim in
            _ = try await sim.control(.POST, "/_sim/faults", json: #"{"kind": "hold_sync_page", "mailbox": "user1@tenant1.example", "page": 2}"#)
            let first = try Soap.messages(try await sim.ews(Soap.syncFolderItems(mailbox, max: 2)).body)[0]
            let state = try #require(first.child(NS.messages, "SyncState")?.trimmedText)
            let second = sim.sendLater(Soap.syncFolderItems(mailbox, state: state, max: 2))
            await sim.world.waitUntilHeld()
            let listed = try await sim.control(.GET, "/_sim/faults")
            let held = try #require((listed["held"] as? [[String: Any]])?.first)
            #expect(held["page"] as? Int == 2)
            #expect(held["mailbox"] as? String == mailbox)
            #expect(sim.world.heldRequests().count == 1)
            let released = try await sim.control(.POST, "/_sim/faults/release")
            #expect(released["released"] as? Int == 1)
            let response = try await second.value
            #expect(Soap.code(try Soap.messages(response.body)[0]) == "NoError")
            #expect(sim.world.heldRequests().isEmpty)
            // Page 3 is not held.
            #expect(try await sim.ews(Soap.syncFolderItems(mailbox, state: state, max: 2)).status == 200)
        }
    }

    @Test func aClientKilledWhileHeldLeavesNothingInFlight() async throws {
        try await SimFixture.with { sim in
            var fault = SimFault(.holdSyncPage, scope: .mailbox(mailbox))
            fault.page = 1
            try sim.world.injectFault(fault)
            let stream = try await sim.stream(Soap.syncFolderItems(mailbox))
            await sim.world.waitUntilHeld()
            await stream.close()
            #expect(sim.world.releaseHeld() == 1)
            // The ticket is returned on release even though nobody reads the answer.
            let probe = try await sim.ews(Soap.syncFolderItems("user2@tenant1.example"))
            #expect(probe.status == 200)
        }
    }

    @Test func blockedTenantGets403ForEWSAndAutodiscover() async throws {
        try await SimFixture.with { sim in
            _ = try await sim.control(.POST, "/_sim/faults", json: #"{"kind": "block_tenant", "tenant": "tenant1"}"#)
            #expect(try await sim.ews(Soap.syncFolderItems(mailbox)).status == 403)
            let autodiscover = try await RawHTTP.send(port: sim.port, path: "/t/tenant1/autodiscover/autodiscover.svc",
                                                      headers: sim.headers(.service), body: "<x/>")
            #expect(autodiscover.status == 403)
            #expect(try await sim.ews(Soap.syncFolderItems("user1@tenant2.example"), tenant: 1).status == 200)
            _ = try await sim.control(.DELETE, "/_sim/faults")
            #expect(try await sim.ews(Soap.syncFolderItems(mailbox)).status == 200)
            #expect(sim.world.statsSnapshot().faultEffects["block_tenant"] == 2)
        }
    }

    @Test func randomScheduleActsOnOneTargetAtATime() async throws {
        try await SimFixture.with { sim in
            for index in 1...4 { _ = try await sim.subscribe("user\(index)@tenant1.example") }
            var fault = SimFault(.expireSubscriptions, scope: .tenant("tenant1"))
            fault.rate = 0.5
            try sim.world.injectFault(fault)
            #expect(sim.world.statsSnapshot().subscriptions == 4)  // nothing happens at injection
            let world = sim.world
            // The schedule sleeps on the manual clock: step time until it has fired twice.
            var steps = 0
            while world.statsSnapshot().faultEffects["expire_subscriptions"] ?? 0 < 2, steps < 100_000 {
                sim.clock.advance(by: .milliseconds(500))
                await Task.yield()
                steps += 1
            }
            let stats = world.statsSnapshot()
            let fired = stats.faultEffects["expire_subscriptions"] ?? 0
            let remaining = 4 - fired
            #expect(fired >= 2)
            #expect(stats.subscriptions == remaining)
            world.clearFaults()
            #expect(world.activeFaults().isEmpty)
        }
    }

    @Test func controlAPIListsValidatesAndClears() async throws {
        try await SimFixture.with { sim in
            let bad = try await sim.control(.POST, "/_sim/faults", json: #"{"kind": "nope"}"#)
            #expect(bad["error"] as? String == "invalidArgument")
            _ = try await sim.control(.POST, "/_sim/faults", json: #"{"kind": "http_503", "identity": "svc:tenant1", "fraction": 0.25, "retry_after": 3}"#)
            let listed = try await sim.control(.GET, "/_sim/faults")
            let fault = try #require((listed["faults"] as? [[String: Any]])?.first)
            #expect(fault["kind"] as? String == "http_503")
            #expect(fault["scope"] as? String == "identity:svc:tenant1")
            #expect(fault["retry_after"] as? Int == 3)
            _ = try await sim.control(.DELETE, "/_sim/faults")
            #expect((try await sim.control(.GET, "/_sim/faults")["faults"] as? [Any])?.isEmpty == true)
            let stats = try await sim.control(.GET, "/_sim/stats")
            #expect((stats["faults_injected"] as? [String: Int])?["http_503"] == 1)
        }
    }
}

/// Throttle windows scheduled at random (soak tests).
@Suite struct RandomThrottleTests {
    @Test func scheduledThrottleOpensWindowsAtRandom() async throws {
        try await SimFixture.with { sim in
            var fault = SimFault(.throttle, scope: .tenant("tenant1"))
            fault.rate = 0.5
            fault.seconds = 2
            try sim.world.injectFault(fault)
            let first = try await sim.ews(Soap.syncFolderItems("user1@tenant1.example"))
            #expect(first.status == 200)  // scheduling alone does not throttle
            var busy: RawHTTP.Response?
            var steps = 0
            while busy == nil, steps < 2000 {
                sim.clock.advance(by: .milliseconds(500))
                await Task.yield()
                // Requests go out only when no advised back-off runs, like a well-behaved client.
                let response = try await sim.ews(Soap.syncFolderItems("user1@tenant1.example"))
                if Soap.faultCode(response.body) == "ErrorServerBusy" { busy = response }
                steps += 1
            }
            let response = try #require(busy)
            let backOff = try #require(Int(Soap.messageXmlValue(response.body, "BackOffMilliseconds") ?? ""))
            #expect(backOff > 0 && backOff <= 2000)
            #expect(sim.world.statsSnapshot().violations("svc:tenant1") == 0)
        }
    }
}
