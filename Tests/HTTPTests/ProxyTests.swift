import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import HTTP

@Suite struct ProxyTests {
    /// A minimal forwarding proxy for plain HTTP (absolute-form request URIs), forwarding with a
    /// second HTTPClient. CONNECT tunnelling (HTTPS through a proxy) is not implemented here.
    @Test func requestsGoThroughTheConfiguredProxy() async throws {
        let origin = try await TestServer.start { request, writer in
            writer.respond(.ok, [("X-Origin-Saw", request.head.uri)], body: "from origin: \(request.body)")
        }
        let upstream = makeClient()
        let proxied = Mutex<[String]>([])
        let proxy = try await TestServer.start { request, writer in
            proxied.withLock { $0.append("\(request.head.method.rawValue) \(request.head.uri)") }
            Task {
                do {
                    let response = try await upstream.send(HTTPRequest(
                        method: request.head.method.rawValue, url: request.head.uri, body: Data(request.body.utf8)))
                    writer.respond(
                        HTTPResponseStatus(statusCode: response.status),
                        [("Via", "1.1 test-proxy"), ("X-Origin-Saw", response.head.header("X-Origin-Saw") ?? "")],
                        body: String(decoding: response.body, as: UTF8.self))
                } catch {
                    writer.respond(.badGateway)
                }
            }
        }
        try await makeClient().use { client in
            let identity = HTTPIdentity(tenant: "t", proxy: proxy.baseURL)
            let target = origin.baseURL + "/EWS/Exchange.asmx"
            let response = try await client.send(HTTPRequest(url: target, body: Data("soap".utf8), identity: identity))
            #expect(response.status == 200)
            #expect(response.head.header("Via") == "1.1 test-proxy")
            #expect(response.head.header("X-Origin-Saw") == "/EWS/Exchange.asmx")
            #expect(String(decoding: response.body, as: UTF8.self) == "from origin: soap")
            #expect(proxied.withLock { $0 } == ["POST \(target)"])

            // Without a proxy the same identity settings go direct, whatever the environment says.
            let direct = try await client.send(HTTPRequest(url: target, body: Data("x".utf8), identity: HTTPIdentity(tenant: "t")))
            #expect(direct.head.header("Via") == nil)
            #expect(proxied.withLock { $0.count } == 1)
        }
        await upstream.shutdown()
        try await proxy.stop()
        try await origin.stop()
    }

    @Test func anUnreachableProxyFailsAsConnectFailure() async throws {
        await makeClient().use { client in
            let error = await httpError {
                _ = try await client.send(get("http://example.invalid/", identity: HTTPIdentity(tenant: "t", proxy: "http://127.0.0.1:1")))
            }
            #expect(error?.code == .connectFailed)
        }
    }
}
