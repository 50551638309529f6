import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import HTTP
import Support

@Suite struct OAuth2Tests {
    static let secret = "Sup3r~Secret-Value_42"

    /// A token endpoint and an EWS endpoint on one server. Tokens are `tok-1`, `tok-2`, ...;
    /// EWS accepts only tokens in `valid`.
    final class IdP: Sendable {
        let tokenRequests = AsyncCounter()
        let ewsRequests = AsyncCounter()
        let valid = Mutex<Set<String>>([])
        let forms = Mutex<[String]>([])
        let failWith = Mutex<(HTTPResponseStatus, String)?>(nil)
        let releaseTokens = Mutex<Gate?>(nil)
        /// When false, issued tokens are never accepted by EWS.
        let issueValidTokens = Mutex(true)

        func handle(_ request: TestServer.Request, _ writer: ResponseWriter) {
            if request.head.uri == "/token" {
                tokenRequests.increment()
                forms.withLock { $0.append(request.body) }
                let n = tokenRequests.value
                if let (status, body) = failWith.withLock({ $0 }) {
                    writer.respond(status, [("Content-Type", "application/json")], body: body)
                    return
                }
                if issueValidTokens.withLock({ $0 }) { valid.withLock { _ = $0.insert("tok-\(n)") } }
                let body = #"{"token_type":"Bearer","expires_in":3599,"access_token":"tok-\#(n)"}"#
                if let gate = releaseTokens.withLock({ $0 }) {
                    Task {
                        await gate.wait()
                        writer.respond(.ok, [("Content-Type", "application/json")], body: body)
                    }
                } else {
                    writer.respond(.ok, [("Content-Type", "application/json")], body: body)
                }
            } else {
                ewsRequests.increment()
                let auth = request.header("Authorization") ?? ""
                let token = auth.hasPrefix("Bearer ") ? String(auth.dropFirst(7)) : ""
                if valid.withLock({ $0.contains(token) }) {
                    writer.respond(.ok, body: "hello \(token)")
                } else {
                    writer.respond(.unauthorized, [("WWW-Authenticate", "Bearer")])
                }
            }
        }
    }

    func identity(_ server: TestServer) -> HTTPIdentity {
        HTTPIdentity(
            tenant: "contoso",
            credentials: .oauth2(OAuth2ClientCredentials(
                tokenURL: server.baseURL + "/token", clientID: "app-id", clientSecret: Secret(Self.secret))))
    }

    @Test func tokenRequestIsAClientCredentialsForm() async throws {
        let idp = IdP()
        let server = try await TestServer.start(handler: idp.handle)
        try await makeClient().use { client in
            let response = try await client.send(get(server.baseURL + "/EWS/Exchange.asmx", identity: identity(server)))
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self) == "hello tok-1")
        }
        let form = Set(try #require(idp.forms.withLock { $0.first }).split(separator: "&").map(String.init))
        #expect(form == [
            "grant_type=client_credentials", "client_id=app-id", "client_secret=Sup3r~Secret-Value_42",
            "scope=https%3A%2F%2Foutlook.office365.com%2F.default",
        ])
        try await server.stop()
    }

    @Test func a401TriggersExactlyOneRefreshAndOneRetry() async throws {
        let idp = IdP()
        let server = try await TestServer.start(handler: idp.handle)
        try await makeClient().use { client in
            let id = identity(server)
            _ = try await client.send(get(server.baseURL, identity: id))
            #expect(idp.tokenRequests.value == 1)
            // The server revokes every token it issued: the next call gets a 401.
            idp.valid.withLock { $0.removeAll() }
            let response = try await client.send(get(server.baseURL, identity: id))
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self) == "hello tok-2")
            #expect(idp.tokenRequests.value == 2, "exactly one refresh")
            #expect(idp.ewsRequests.value == 3, "first call, rejected call, one retry")

            // A token that keeps being rejected: one refresh, one retry, then the 401 is returned.
            idp.valid.withLock { $0.removeAll() }
            idp.issueValidTokens.withLock { $0 = false }
            let final = try await client.send(get(server.baseURL, identity: id))
            #expect(final.status == 401)
            #expect(idp.tokenRequests.value == 3)
            #expect(idp.ewsRequests.value == 5)
        }
        try await server.stop()
    }

    @Test func concurrentCallersShareOneTokenRequest() async throws {
        let idp = IdP()
        let gate = Gate()
        idp.releaseTokens.withLock { $0 = gate }
        let server = try await TestServer.start(handler: idp.handle)
        try await makeClient().use { client in
            let id = identity(server)
            let calls = (0..<20).map { _ in Task { try await client.send(get(server.baseURL, identity: id)) } }
            await idp.tokenRequests.wait(atLeast: 1)
            gate.open()
            for call in calls {
                let status = try await call.value.status
                #expect(status == 200)
            }
            #expect(idp.tokenRequests.value == 1)
        }
        try await server.stop()
    }

    @Test func tokenIsRefreshedAheadOfExpiry() async throws {
        let idp = IdP()
        let server = try await TestServer.start(handler: idp.handle)
        let now = Mutex<Duration>(.zero)
        let client = HTTPClient(configuration: HTTPClient.Configuration(), logger: .init(label: "t"), tokenClock: { now.withLock { $0 } })
        try await client.use { client in
            let id = identity(server)
            _ = try await client.send(get(server.baseURL, identity: id))
            now.withLock { $0 = .seconds(3599 - 301) }
            _ = try await client.send(get(server.baseURL, identity: id))
            #expect(idp.tokenRequests.value == 1, "still more than the 300 s margin left")
            now.withLock { $0 = .seconds(3599 - 299) }
            _ = try await client.send(get(server.baseURL, identity: id))
            #expect(idp.tokenRequests.value == 2, "renewed inside the margin, before expiry")
        }
        try await server.stop()
    }

    @Test func tokenEndpointFailureReportsTheIdPErrorButNeverTheSecret() async throws {
        let idp = IdP()
        idp.failWith.withLock {
            $0 = (.unauthorized, #"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent is the client secret value, not the ID, for the secret added to app 'app-id'. Sent: Sup3r~Secret-Value_42"}"#)
        }
        let server = try await TestServer.start(handler: idp.handle)
        try await makeClient().use { client in
            let error = await httpError { _ = try await client.send(get(server.baseURL, identity: identity(server))) }
            let e = try #require(error)
            #expect(e.code == .tokenEndpoint)
            #expect(e.status == 401)
            #expect(e.message.contains("invalid_client"))
            #expect(e.message.contains("AADSTS7000215"))
            for text in [e.message, "\(e)", String(reflecting: e), "\(identity(server))", String(reflecting: identity(server))] {
                #expect(!text.contains(Self.secret))
            }
            #expect(idp.ewsRequests.value == 0)
        }
        try await server.stop()
    }

    @Test func unreachableTokenEndpointIsATokenEndpointError() async throws {
        let idp = IdP()
        let server = try await TestServer.start(handler: idp.handle)
        let creds = OAuth2ClientCredentials(tokenURL: "http://127.0.0.1:1/token", clientID: "x", clientSecret: Secret(Self.secret))
        await makeClient().use { client in
            let error = await httpError {
                _ = try await client.send(get(server.baseURL, identity: HTTPIdentity(tenant: "t", credentials: .oauth2(creds))))
            }
            #expect(error?.code == .tokenEndpoint)
            #expect(error?.curlCode == 7)
        }
        try await server.stop()
    }

    @Test func secretsAreRedactedInDescriptions() {
        let secret = Secret("hunter2")
        #expect("\(secret)" == "<redacted>")
        #expect(!String(reflecting: secret).contains("hunter2"))
        var dumped = ""
        dump(HTTPIdentity(tenant: "t", credentials: .basic(username: "u", password: secret)), to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(secret.unredactedValue == "hunter2")
    }
}


extension OAuth2Tests {
    @Test func aStreamingCallAlsoRefreshesOnceOn401() async throws {
        let idp = IdP()
        let server = try await TestServer.start(handler: idp.handle)
        try await makeClient().use { client in
            let id = identity(server)
            _ = try await client.send(get(server.baseURL, identity: id))
            idp.valid.withLock { $0.removeAll() }
            let stream = try await client.stream(get(server.baseURL, identity: id))
            #expect(stream.status == 200)
            #expect(String(decoding: try await stream.collect(), as: UTF8.self) == "hello tok-2")
            #expect(idp.tokenRequests.value == 2)
        }
        try await server.stop()
    }
}
