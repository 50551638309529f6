import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import HTTP

@Suite struct ClientTests {
    @Test(arguments: mechanisms) func normalRequestReturnsStatusHeadersBodyAndTiming(mechanism: Mechanism) async throws {
        let server = try await TestServer.start { request, writer in
            writer.respond(.created, [("X-Echo", request.head.uri), ("Content-Type", "text/xml")], body: "<ok>\(request.body)</ok>")
        }
        try await makeClient(mechanism).use { client in
            var request = HTTPRequest(url: server.baseURL + "/EWS/Exchange.asmx", body: Data("soap".utf8))
            request.headers.append((name: "Content-Type", value: "text/xml; charset=utf-8"))
            let response = try await client.send(request)
            #expect(response.status == 201)
            #expect(response.head.header("x-echo") == "/EWS/Exchange.asmx")
            #expect(String(decoding: response.body, as: UTF8.self) == "<ok>soap</ok>")
            #expect(response.timing.total > .zero)
            #expect(response.timing.firstByte <= response.timing.total)
        }
        try await server.stop()
    }

    @Test(arguments: mechanisms) func totalTimeoutAcceptsSubSecondValues(mechanism: Mechanism) async throws {
        let server = try await TestServer.start { _, writer in
            writer.head()  // never finishes
        }
        await makeClient(mechanism).use { client in
            let error = await httpError {
                _ = try await client.send(get(server.baseURL, timeouts: HTTPTimeouts(total: .milliseconds(150))))
            }
            #expect(error?.code == .timeout)
            #expect(error?.isRetryable == true)
        }
        try await server.stop()
    }

    @Test(arguments: mechanisms) func aResponseBodyOverTheLimitIsOneClearError(mechanism: Mechanism) async throws {
        let server = try await TestServer.start { _, writer in
            writer.respond(.ok, [("Content-Type", "text/xml")], body: String(repeating: "x", count: 300_000))
        }
        try await makeClient(mechanism, { $0.maxResponseBodyBytes = 100_000 }).use { client in
            let error = await httpError { _ = try await client.send(get(server.baseURL)) }
            #expect(error?.code == .responseTooLarge)
            #expect(error?.isRetryable == false)
            #expect(error?.message.contains("100000 bytes") == true)
            // A limit above the body lets it through.
            let small = try await makeClient(mechanism, { $0.maxResponseBodyBytes = 300_000 }).use { try await $0.send(get(server.baseURL)) }
            #expect(small.body.count == 300_000)
        }
        try await server.stop()
    }

    @Test func connectionRefusedIsConnectFailed() async throws {
        let closed = try ClosedPort()
        await makeClient().use { client in
            let error = await httpError { _ = try await client.send(get("http://127.0.0.1:\(closed.port)/")) }
            #expect(error?.code == .connectFailed)
            #expect(error?.curlCode == 7)
        }
        withExtendedLifetime(closed) {}
    }

    @Test(arguments: mechanisms) func cancellingANormalCallFailsItPromptly(mechanism: Mechanism) async throws {
        let arrived = Gate()
        let server = try await TestServer.start { _, writer in
            arrived.open()
            writer.head()
        }
        await makeClient(mechanism).use { client in
            let task = Task { try await client.send(get(server.baseURL)) }
            await arrived.wait()
            task.cancel()
            let error = await httpError { _ = try await task.value }
            #expect(error?.code == .cancelled)
            // The server sees the connection go away: the transfer was really removed.
            await server.closed.wait(atLeast: 1)
        }
        try await server.stop()
    }

    @Test(arguments: mechanisms) func shutdownFailsInFlightCallsAndLaterCalls(mechanism: Mechanism) async throws {
        let arrived = AsyncCounter()
        let server = try await TestServer.start { _, writer in
            writer.head()
            arrived.increment()
        }
        let client = makeClient(mechanism)
        let normal = Task { try await client.send(get(server.baseURL)) }
        let stream = try await client.stream(get(server.baseURL))
        await arrived.wait(atLeast: 2)
        await client.shutdown()
        #expect(await httpError { _ = try await normal.value }?.code == .shutdown)
        #expect(await httpError { _ = try await stream.collect() }?.code == .shutdown)
        #expect(await httpError { _ = try await client.send(get(server.baseURL)) }?.code == .shutdown)
        try await server.stop()
    }

    @Test func basicAuthSendsTheAuthorizationHeader() async throws {
        let server = try await TestServer.start { request, writer in
            writer.respond(body: request.header("Authorization") ?? "none")
        }
        try await makeClient().use { client in
            let identity = HTTPIdentity(tenant: "t", credentials: .basic(username: "alice", password: "s3cret"))
            let response = try await client.send(get(server.baseURL, identity: identity))
            let expected = "Basic " + Data("alice:s3cret".utf8).base64EncodedString()
            #expect(String(decoding: response.body, as: UTF8.self) == expected)
        }
        try await server.stop()
    }

    @Test(arguments: [
        (HTTPIdentity.AuthKind.none, nil), (.oauth2, nil), (.basic, UInt(1) << 0), (.negotiate, UInt(1) << 2),
        (.ntlm, UInt(1) << 3),
    ] as [(HTTPIdentity.AuthKind, UInt?)])
    func authKindMapsToCurlAuthMask(kind: HTTPIdentity.AuthKind, mask: UInt?) {
        #expect(curlAuthMask(for: kind) == mask)
    }

    @Test(arguments: mechanisms) func connectionsAreCachedPerIdentityAndNeverShared(mechanism: Mechanism) async throws {
        let server = try await TestServer.start { request, writer in
            writer.respond(body: "\(request.connectionID)")
        }
        try await makeClient(mechanism).use { client in
            let alice = HTTPIdentity(tenant: "t1", credentials: .basic(username: "alice", password: "a"))
            let bob = HTTPIdentity(tenant: "t2", credentials: .basic(username: "bob", password: "b"))
            func connection(_ identity: HTTPIdentity) async throws -> String {
                String(decoding: try await client.send(get(server.baseURL, identity: identity)).body, as: UTF8.self)
            }
            let a1 = try await connection(alice)
            let a2 = try await connection(alice)
            let b1 = try await connection(bob)
            let b2 = try await connection(bob)
            let a3 = try await connection(alice)
            #expect(a1 == a2 && a2 == a3, "keep-alive reuse within one identity")
            #expect(b1 == b2)
            #expect(a1 != b1, "no connection shared across identities")
            #expect(server.opened.value == 2)
        }
        try await server.stop()
    }

    @Test func affinityHeadersAndBackEndCookieAreCapturedAndReplayed() async throws {
        let seen = Mutex<[String]>([])
        let server = try await TestServer.start { request, writer in
            seen.withLock {
                $0.append("\(request.header("X-AnchorMailbox") ?? "-")|\(request.header("X-PreferServerAffinity") ?? "-")|\(request.header("Cookie") ?? "-")")
            }
            writer.respond(
                .ok,
                [
                    ("Set-Cookie", "X-BackEndOverrideCookie=MBX01.example.com~1942062752; path=/; secure; HttpOnly"),
                    ("Set-Cookie", "exchangecookie=abc; path=/"),
                ])
        }
        try await makeClient().use { client in
            let cookies = AffinityCookieStore()
            var request = get(server.baseURL)
            request.cookies = cookies
            request.setAffinity(anchorMailbox: "anchor@contoso.com")
            _ = try await client.send(request)
            #expect(cookies.value(of: "X-BackEndOverrideCookie") == "MBX01.example.com~1942062752")
            #expect(cookies.value(of: "exchangecookie") == nil)
            _ = try await client.send(request)
            let stream = try await client.stream(request)
            stream.cancel()
        }
        let lines = seen.withLock { $0 }
        #expect(lines.count == 3)
        #expect(lines.first == "anchor@contoso.com|true|-")
        #expect(lines.dropFirst().allSatisfy { $0 == "anchor@contoso.com|true|X-BackEndOverrideCookie=MBX01.example.com~1942062752" })
        try await server.stop()
    }
}

import Synchronization
