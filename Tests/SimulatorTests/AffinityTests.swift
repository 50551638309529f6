import NIOHTTP1
import Testing
@testable import Simulator

/// §8.2: subscriptions live on their mailbox's server; the cookie routes GetStreamingEvents.
@Suite struct AffinityTests {
    // With 2 servers per tenant, user1 and user3 live on server 1, user2 on server 2.
    let anchor = "user1@tenant1.example"
    let sameServer = "user3@tenant1.example"
    let otherServer = "user2@tenant1.example"

    func next(_ stream: RawStream) async throws -> SimXMLNode {
        guard let envelope = await stream.nextEnvelope() else { throw RawStream.Failure(reason: "stream ended") }
        return try Soap.streamMessage(envelope)
    }

    @Test func subscribeWithAnchorAndPreferAffinityReturnsTheBackEndCookie() async throws {
        try await SimFixture.with { sim in
            let (_, cookie) = try await sim.subscribe(anchor, anchor: anchor)
            let server = sim.tenants[0].servers[0]
            #expect(cookie?.hasPrefix("X-BackEndOverrideCookie=\(server)~") == true)
            let (_, none) = try await sim.subscribe(anchor)
            #expect(none == nil)
        }
    }

    @Test(arguments: [true, false])
    func streamRoutedByCookieGivesPerIdErrorsForSubscriptionsOnOtherServers(_ asCookieHeader: Bool) async throws {
        try await SimFixture.with { sim in
            let (anchorId, setCookie) = try await sim.subscribe(anchor, anchor: anchor)
            let (sameId, _) = try await sim.subscribe(sameServer, anchor: anchor)
            let (otherId, _) = try await sim.subscribe(otherServer, anchor: anchor)
            let cookie = String(setCookie!.split(separator: ";")[0])
            var headers: HTTPHeaders = ["X-AnchorMailbox": otherServer, "X-PreferServerAffinity": "true"]
            if asCookieHeader {
                headers.add(name: "Cookie", value: cookie)
            } else {
                headers.add(name: "X-BackEndOverrideCookie", value: String(cookie.dropFirst("X-BackEndOverrideCookie=".count)))
            }
            // The cookie wins over the anchor header.
            let stream = try await sim.stream(Soap.getStreamingEvents([anchorId, sameId, otherId]), headers: headers)
            _ = try await stream.readHead()
            #expect(Soap.connectionStatus(try await next(stream)) == "OK")
            let error = try await next(stream)
            #expect(Soap.code(error) == "ErrorProxyRequestNotAllowed")
            #expect(Soap.errorIds(error) == [otherId])
            _ = try sim.world.deliver(mailbox: sameServer)
            #expect(Soap.notifications(try await next(stream)).map(\.0) == [sameId])
            await stream.close()
        }
    }

    @Test func withoutCookieTheAnchorMailboxRoutes() async throws {
        try await SimFixture.with { sim in
            let (otherId, _) = try await sim.subscribe(otherServer)
            let stream = try await sim.stream(Soap.getStreamingEvents([otherId]), headers: ["X-AnchorMailbox": anchor])
            _ = try await stream.readHead()
            let error = try await next(stream)
            #expect(Soap.code(error) == "ErrorProxyRequestNotAllowed")
            #expect(Soap.connectionStatus(try await next(stream)) == "Closed")
        }
    }

    @Test func unknownAndMalformedIdsGetTheirOwnErrors() async throws {
        try await SimFixture.with { sim in
            let (good, cookie) = try await sim.subscribe(anchor, anchor: anchor)
            // A well-formed id for the right server that the server does not hold.
            var bytes = Array(Data(base64Encoded: good)!)
            bytes[bytes.count - 9] ^= 0xFF
            let unknown = Data(bytes).base64EncodedString()
            let headers: HTTPHeaders = ["Cookie": String(cookie!.split(separator: ";")[0])]
            let stream = try await sim.stream(Soap.getStreamingEvents([good, unknown, "AAA-"]), headers: headers)
            _ = try await stream.readHead()
            #expect(Soap.connectionStatus(try await next(stream)) == "OK")
            var codes: [String: [String]] = [:]
            for _ in 0..<2 {
                let message = try await next(stream)
                codes[Soap.code(message)] = Soap.errorIds(message)
            }
            #expect(codes["ErrorSubscriptionNotFound"] == [unknown])
            #expect(codes["ErrorInvalidSubscription"] == ["AAA-"])
            await stream.close()
        }
    }

    @Test func onlyTheOwnerMayOpenASubscription() async throws {
        try await SimFixture.with { sim in
            let (id, _) = try await sim.subscribe(anchor)
            // The mailbox user itself (not the service account that created it) is refused.
            let stream = try await sim.stream(Soap.getStreamingEvents([id]), auth: .user(anchor),
                                              headers: ["X-AnchorMailbox": anchor])
            _ = try await stream.readHead()
            #expect(Soap.code(try await next(stream)) == "ErrorSubscriptionAccessDenied")
        }
    }
}

import Foundation
