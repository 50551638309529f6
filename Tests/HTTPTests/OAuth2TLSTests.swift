import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import HTTP
import Support

/// The token request runs with the identity's TLS settings and proxy, exactly as its EWS calls do:
/// an identity provider behind a private CA is trusted through the identity's CA bundle.
@Suite struct OAuth2TLSTests {
    /// The identity provider alone behind TLS (a private CA), EWS on plain http: whatever happens at
    /// the token endpoint comes from the token request's own TLS settings.
    static func withIdPBehindPrivateCA(_ body: (TestPKI, OAuth2Tests.IdP, _ tokenURL: String, _ ewsURL: String) async throws -> Void)
        async throws
    {
        let pki = try TestPKI.make()
        defer { try? FileManager.default.removeItem(at: pki.directory) }
        let idp = OAuth2Tests.IdP()
        let tokenServer = try await TestServer.start(tls: try pki.serverContext(), handler: idp.handle)
        let ews = try await TestServer.start(handler: idp.handle)
        do {
            try await body(pki, idp, "https://127.0.0.1:\(tokenServer.port)/token", ews.baseURL + "/EWS/Exchange.asmx")
        } catch {
            try? await tokenServer.stop()
            try? await ews.stop()
            throw error
        }
        try await tokenServer.stop()
        try await ews.stop()
    }

    static func identity(tokenURL: String, caBundlePath: String? = nil, insecure: Bool = false) -> HTTPIdentity {
        HTTPIdentity(
            tenant: "onprem",
            credentials: .oauth2(OAuth2ClientCredentials(tokenURL: tokenURL, clientID: "app-id", clientSecret: Secret(OAuth2Tests.secret))),
            caBundlePath: caBundlePath, insecureSkipVerify: insecure)
    }

    @Test func aTokenEndpointBehindAPrivateCAIsTrustedThroughTheCABundle() async throws {
        try await Self.withIdPBehindPrivateCA { pki, idp, tokenURL, ewsURL in
            try await makeClient().use { client in
                let response = try await client.send(get(ewsURL, identity: Self.identity(tokenURL: tokenURL, caBundlePath: pki.caPath)))
                #expect(response.status == 200)
                #expect(String(decoding: response.body, as: UTF8.self) == "hello tok-1")
                #expect(idp.tokenRequests.value == 1)
            }
        }
    }

    @Test func withoutTheCABundleTheTokenRequestFailsWithATLSError() async throws {
        try await Self.withIdPBehindPrivateCA { _, idp, tokenURL, ewsURL in
            try await makeClient().use { client in
                let error = await httpError { _ = try await client.send(get(ewsURL, identity: Self.identity(tokenURL: tokenURL))) }
                let e = try #require(error)
                #expect(e.code == .tls)
                #expect(e.curlCode == 60)
                #expect(e.isRetryable == false)
                #expect(e.message.hasPrefix("token request failed: "))
                #expect(e.message.contains("certificate"))
                #expect(!"\(e)".contains(OAuth2Tests.secret))
                #expect(idp.tokenRequests.value == 0, "the handshake failed before any request")
                #expect(idp.ewsRequests.value == 0, "no token, no EWS call")
            }
        }
    }

    @Test func theInsecureSwitchAppliesToTheTokenRequestToo() async throws {
        try await Self.withIdPBehindPrivateCA { _, idp, tokenURL, ewsURL in
            try await makeClient().use { client in
                let response = try await client.send(get(ewsURL, identity: Self.identity(tokenURL: tokenURL, insecure: true)))
                #expect(response.status == 200)
                #expect(idp.tokenRequests.value == 1)
            }
        }
    }

    /// A token is cached per TLS settings too: an identity that trusts the CA does not hand its
    /// token to one that would have failed the handshake.
    @Test func identitiesWithOtherTLSSettingsDoNotShareATokenProvider() async throws {
        try await Self.withIdPBehindPrivateCA { pki, idp, tokenURL, ewsURL in
            try await makeClient().use { client in
                _ = try await client.send(get(ewsURL, identity: Self.identity(tokenURL: tokenURL, caBundlePath: pki.caPath)))
                let error = await httpError { _ = try await client.send(get(ewsURL, identity: Self.identity(tokenURL: tokenURL))) }
                #expect(error?.code == .tls)
                #expect(idp.tokenRequests.value == 1)
            }
        }
    }

    @Test func theTokenRequestGoesThroughTheIdentitysProxy() async throws {
        let idp = OAuth2Tests.IdP()
        let origin = try await TestServer.start(handler: idp.handle)
        let upstream = makeClient()
        let proxied = Mutex<[String]>([])
        // A forwarding proxy for plain http (absolute-form request URIs), as in ProxyTests.
        let proxy = try await TestServer.start { request, writer in
            proxied.withLock { $0.append("\(request.head.method.rawValue) \(request.head.uri)") }
            Task {
                var headers = request.head.headers.map { (name: $0.name, value: $0.value) }
                headers.removeAll { ["host", "content-length", "proxy-connection"].contains($0.name.lowercased()) }
                do {
                    let response = try await upstream.send(HTTPRequest(
                        method: request.head.method.rawValue, url: request.head.uri, headers: headers, body: Data(request.body.utf8)))
                    writer.respond(HTTPResponseStatus(statusCode: response.status), [("Content-Type", "application/json")],
                                   body: String(decoding: response.body, as: UTF8.self))
                } catch {
                    writer.respond(.badGateway)
                }
            }
        }
        try await makeClient().use { client in
            var identity = Self.identity(tokenURL: origin.baseURL + "/token")
            identity.proxy = proxy.baseURL
            let response = try await client.send(get(origin.baseURL + "/EWS/Exchange.asmx", identity: identity))
            #expect(response.status == 200)
            #expect(proxied.withLock { $0 } == ["POST \(origin.baseURL)/token", "GET \(origin.baseURL)/EWS/Exchange.asmx"])
        }
        await upstream.shutdown()
        try await proxy.stop()
        try await origin.stop()
    }
}
