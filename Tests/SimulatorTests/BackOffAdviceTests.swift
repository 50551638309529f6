import NIOHTTP1
import Testing
@testable import Simulator

/// A request inside an advised back-off breaks the advice only if its client could have read it:
/// its head arrived more than the grace (default 50 ms) after the advice was completely written.
/// Requests sent earlier are in flight at advice: answered ErrorServerBusy with the time left,
/// counted apart, and the back-off is not extended.
@Suite(.timeLimit(.minutes(1))) struct BackOffAdviceTests {
    let mailbox = "user1@tenant1.example"
    let service = "svc:tenant1"

    /// A 30-s throttle on the service account, its advice, and the moment that advice was written.
    func throttle(_ sim: SimFixture) async throws {
        var fault = SimFault(.throttle, scope: .identity(service))
        fault.seconds = 30
        try sim.world.injectFault(fault)
        let busy = try await sim.ews(Soap.syncFolderItems(mailbox))
        #expect(backOff(busy) == 30000)
        await sim.world.waitUntilAdviceWritten()
    }

    /// The BackOffMilliseconds of an ErrorServerBusy fault.
    func backOff(_ response: RawHTTP.Response) -> Int? {
        #expect(Soap.faultCode(response.body) == "ErrorServerBusy")
        return Int(Soap.messageXmlValue(response.body, "BackOffMilliseconds") ?? "")
    }

    @Test func aRequestSentBeforeTheAdviceWasWrittenIsInFlightNotAViolation() async throws {
        try await SimFixture.with { sim in
            // The head reaches the server (its 100 Continue says so) a second before the advice
            // is written; the body follows ten seconds after it, far past the grace.
            let early = try await RawHTTP.open(port: sim.port, path: sim.ewsPath(),
                                               headers: sim.headers(.service, extra: ["Expect": "100-continue"]),
                                               body: Soap.syncFolderItems(mailbox), holdBody: true)
            #expect(try await early.readHead().status == .continue)
            sim.clock.advance(by: .seconds(1))
            try await throttle(sim)
            sim.clock.advance(by: .seconds(10))
            try await early.sendBody(Soap.syncFolderItems(mailbox))
            let answer = try await early.readResponse()
            #expect(answer.status == 500)
            #expect(backOff(answer) == 20000)  // the time left
            let stats = try await sim.control(.GET, "/_sim/stats")
            #expect((stats["in_flight_at_advice"] as? [String: Int])?[service] == 1)
            #expect((stats["backoff_violations"] as? [String: Int])?[service] == 0)
            // Not extended: the back-off ends when first advised.
            sim.clock.advance(by: .seconds(20))
            let fine = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(Soap.code(try Soap.messages(fine.body)[0]) == "NoError")
            #expect(sim.world.statsSnapshot().violations(service) == 0)
        }
    }

    @Test func aRequestWithinTheGraceIsInFlightAndDoesNotExtend() async throws {
        try await SimFixture.with { sim in
            try await throttle(sim)
            sim.clock.advance(by: .milliseconds(40))
            #expect(backOff(try await sim.ews(Soap.syncFolderItems(mailbox))) == 29960)
            let stats = sim.world.statsSnapshot()
            #expect(stats.inFlightAtAdvice(service) == 1)
            #expect(stats.violations(service) == 0)
            #expect(stats.throttled["BackOffInFlight"] == 1)
            sim.clock.advance(by: .milliseconds(29960))
            let fine = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(Soap.code(try Soap.messages(fine.body)[0]) == "NoError")
        }
    }

    @Test func aRequestPastTheGraceIsAViolationAndExtends() async throws {
        try await SimFixture.with { sim in
            try await throttle(sim)
            sim.clock.advance(by: .milliseconds(51))
            // Charged the back-off's length again: 30 s + 30 s - 51 ms.
            #expect(backOff(try await sim.ews(Soap.syncFolderItems(mailbox))) == 59949)
            let stats = sim.world.statsSnapshot()
            #expect(stats.violations(service) == 1)
            #expect(stats.inFlightAtAdvice(service) == 0)
            // Where the advised back-off would have ended, the extended one still runs.
            sim.clock.advance(by: .milliseconds(29949))
            #expect(backOff(try await sim.ews(Soap.syncFolderItems(mailbox))) == 60000)
            #expect(sim.world.statsSnapshot().violations(service) == 2)
        }
    }

    @Test(arguments: [(nil, 50, false), (nil, 51, true), (200, 51, false), (200, 200, false), (200, 201, true)]
          as [(Int?, Int, Bool)])
    func theGraceSetsTheBoundary(graceMs: Int?, delayMs: Int, isViolation: Bool) async throws {
        try await SimFixture.with({ if let graceMs { $0.adviceGrace = .milliseconds(graceMs) } }) { sim in
            try await throttle(sim)
            sim.clock.advance(by: .milliseconds(delayMs))
            let retry = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(backOff(retry) == (isViolation ? 60000 : 30000) - delayMs)
            let stats = sim.world.statsSnapshot()
            #expect(stats.violations(service) == (isViolation ? 1 : 0))
            #expect(stats.inFlightAtAdvice(service) == (isViolation ? 0 : 1))
        }
    }

    @Test func adviceAsAResponseMessageCountsTheSame() async throws {
        // ConcurrentSyncCalls advises in the message form, on the identity for one mailbox.
        try await SimFixture.with({ $0.maxConcurrentSyncCalls = 1 }) { sim in
            let held = try await sim.holdOneSync(mailbox)
            let busy = try await sim.ews(Soap.syncFolderItems(mailbox))
            #expect(Soap.code(try Soap.messages(busy.body)[0]) == "ErrorServerBusy")
            await sim.world.waitUntilAdviceWritten()
            sim.world.releaseHeld()
            _ = try await held.value
            #expect(backOff(try await sim.ews(Soap.syncFolderItems(mailbox))) == 5000)
            sim.clock.advance(by: .seconds(1))
            #expect(backOff(try await sim.ews(Soap.syncFolderItems(mailbox))) == 9000)
            let stats = sim.world.statsSnapshot()
            #expect(stats.inFlightAtAdvice(service) == 1)
            #expect(stats.violations(service) == 1)
        }
    }
}
