import Foundation
import HTTP
import NIOHTTP1
import Testing
@testable import Simulator
import Support

/// NTLM tenants end to end: libcurl's real NTLM handshake (the project's HTTP module with
/// CURLAUTH_NTLM) against the simulator's verifier, and the connection binding on raw sockets.
@Suite struct NTLMServerTests {
    /// Tenant 0 requires NTLM, tenant 1 keeps Basic.
    static func withNTLMSim<T>(_ body: (SimFixture) async throws -> T) async throws -> T {
        try await SimFixture.with({ $0.ntlmTenants = 1 }, body)
    }

    static func client(_ body: (HTTPClient) async throws -> Void) async throws {
        let client = HTTPClient()
        do {
            try await body(client)
            await client.shutdown()
        } catch {
            await client.shutdown()
            throw error
        }
    }

    static func call(_ client: HTTPClient, _ sim: SimFixture, tenant: Int = 0, credentials: HTTPIdentity.Credentials)
        async throws -> HTTPResponse {
        let info = sim.tenants[tenant]
        let request = HTTPRequest(
            url: "http://127.0.0.1:\(sim.port)\(sim.ewsPath(tenant))",
            headers: [(name: "Content-Type", value: "text/xml; charset=utf-8")],
            body: Data(Soap.syncFolderItems(info.mailboxes[0]).utf8),
            identity: HTTPIdentity(tenant: "\(info.name)-\(credentials.hashValue)", credentials: credentials))
        return try await client.send(request)
    }

    @Test func libcurlNTLMIsAccepted() async throws {
        try await Self.withNTLMSim { sim in
            let info = sim.tenants[0]
            try await Self.client { client in
                for _ in 0..<3 {
                    let response = try await Self.call(client, sim, credentials: .ntlm(username: info.username,
                                                                                       password: Secret(info.password)))
                    #expect(response.status == 200)
                    let messages = try Soap.messages(String(decoding: response.body, as: UTF8.self))
                    #expect(messages.map(Soap.code) == ["NoError"])
                }
                // A mailbox user (DOMAIN\user form: libcurl sends the domain in its own field).
                let user = info.mailboxes[1]
                let own = HTTPRequest(
                    url: "http://127.0.0.1:\(sim.port)\(sim.ewsPath(0))",
                    headers: [(name: "Content-Type", value: "text/xml; charset=utf-8")],
                    body: Data(Soap.syncFolderItems(user).utf8),
                    identity: HTTPIdentity(tenant: "user", credentials: .ntlm(username: "\(info.name.uppercased())\\\(user)",
                                                                               password: Secret(info.userPassword))))
                #expect(try await client.send(own).status == 200)
            }
            // The handshake happened: the first round trip of each connection was a 401.
            #expect(sim.world.statsSnapshot().count("Unauthorized", status: 401) >= 2)
        }
    }

    @Test func wrongPasswordAndBasicAreRefused() async throws {
        try await Self.withNTLMSim { sim in
            let info = sim.tenants[0]
            try await Self.client { client in
                let wrong = try await Self.call(client, sim, credentials: .ntlm(username: info.username,
                                                                              password: Secret(info.password + "x")))
                #expect(wrong.status == 401)
                let basic = try await Self.call(client, sim, credentials: .basic(username: info.username,
                                                                                password: Secret(info.password)))
                #expect(basic.status == 401)
                #expect(basic.head.headers(named: "WWW-Authenticate") == ["NTLM"])
                // The Basic tenant is untouched, and refuses NTLM-only clients nothing: Basic works.
                let other = sim.tenants[1]
                let fine = try await Self.call(client, sim, tenant: 1, credentials: .basic(username: other.username,
                                                                                          password: Secret(other.password)))
                #expect(fine.status == 200)
            }
        }
    }

    /// NTLM binds the connection: after the handshake, requests on the same connection pass with no
    /// Authorization header; a new connection must authenticate again.
    @Test func identityIsBoundToTheConnection() async throws {
        try await Self.withNTLMSim { sim in
            let info = sim.tenants[0]
            let body = Soap.syncFolderItems(info.mailboxes[0])
            let connection = try await KeepAliveHTTP.connect(port: sim.port)

            let bare = try await connection.send(path: sim.ewsPath(0), body: body)
            #expect(bare.status == 401)
            #expect(bare.headers["WWW-Authenticate"] == ["NTLM"])

            let negotiate = NTLMNegotiate(flags: [.unicode, .ntlm, .requestTarget]).serialize()
            let second = try await connection.send(path: sim.ewsPath(0), headers: ["Authorization": NTLMHandshakeTests.header(negotiate)],
                                                   body: "")
            #expect(second.status == 401)
            let value = try #require(second.headers["WWW-Authenticate"].first)
            let type2 = try #require(Data(base64Encoded: String(value.dropFirst("NTLM ".count))))
            let challenge = try #require(NTLMChallenge.parse([UInt8](type2)))
            #expect(challenge.targetName == info.name.uppercased())

            let type3 = NTLMAuthenticate.client(user: info.username, domain: "", password: info.password, challenge: challenge,
                                                time: NTLMCrypto.fileTime(unixSeconds: Date().timeIntervalSince1970),
                                                clientChallenge: [1, 2, 3, 4, 5, 6, 7, 8])
            let third = try await connection.send(path: sim.ewsPath(0),
                                                  headers: ["Authorization": NTLMHandshakeTests.header(type3.serialize())],
                                                  body: body)
            #expect(third.status == 200)
            let again = try await connection.send(path: sim.ewsPath(0), body: body)
            #expect(again.status == 200)
            #expect(try Soap.messages(again.body).map(Soap.code) == ["NoError"])

            let other = try await KeepAliveHTTP.connect(port: sim.port)
            #expect(try await other.send(path: sim.ewsPath(0), body: body).status == 401)
            await other.close()
            await connection.close()
        }
    }

    /// GetStreamingEvents on an NTLM tenant: the stream's connection authenticates like any other.
    @Test(.timeLimit(.minutes(1))) func streamingWorksOverNTLM() async throws {
        try await Self.withNTLMSim { sim in
            let info = sim.tenants[0]
            let mailbox = info.mailboxes[0]
            let identity = HTTPIdentity(tenant: info.name, credentials: .ntlm(username: info.username, password: Secret(info.password)))
            let url = "http://127.0.0.1:\(sim.port)\(sim.ewsPath(0))"
            let headers = [(name: "Content-Type", value: "text/xml; charset=utf-8")]
            try await Self.client { client in
                let subscribe = try await client.send(HTTPRequest(
                    url: url, headers: headers,
                    body: Data(Soap.subscribe(mailbox, folders: "<t:DistinguishedFolderId Id=\"inbox\"/>").utf8),
                    identity: identity))
                #expect(subscribe.status == 200)
                let message = try #require(try Soap.messages(String(decoding: subscribe.body, as: UTF8.self)).first)
                let id = try #require(message.child(NS.messages, "SubscriptionId")?.trimmedText)
                let stream = try await client.stream(HTTPRequest(
                    url: url, headers: headers, body: Data(Soap.getStreamingEvents([id], minutes: 1).utf8), identity: identity))
                #expect(stream.status == 200)
                var text = ""
                var delivered = false
                for try await chunk in stream {
                    text += String(decoding: chunk, as: UTF8.self)
                    if !delivered, text.contains("ConnectionStatus>OK") {
                        delivered = true
                        _ = try sim.world.deliver(mailbox: mailbox)
                    }
                    if text.contains("NewMailEvent") { break }
                }
                stream.cancel()
                #expect(text.contains("NewMailEvent"))
            }
        }
    }

    @Test func controlAPIReportsAuthKind() async throws {
        try await Self.withNTLMSim { sim in
            let response = try await RawHTTP.send(port: sim.port, method: .GET, path: "/_sim/tenants")
            let decoded = try JSONDecoder().decode([SimWorld.TenantInfo].self, from: Data(response.body.utf8))
            #expect(decoded.map(\.auth) == ["ntlm", "basic"])
        }
    }
}
