import Foundation
import Logging
import Testing
@testable import HTTP

@Suite struct TraceTests {
    @Test func headerTracingRedactsCredentialsAndCookies() async throws {
        let server = try await TestServer.start { _, writer in
            writer.respond(.ok, [("Set-Cookie", "X-BackEndOverrideCookie=srv~1; path=/")], body: "body-text")
        }
        let logs = CapturedLogs()
        var configuration = HTTPClient.Configuration()
        configuration.traceHeaders = true
        try await HTTPClient(configuration: configuration, logger: logs.logger()).use { client in
            let cookies = AffinityCookieStore()
            var request = get(server.baseURL, identity: HTTPIdentity(tenant: "t", credentials: .basic(username: "alice", password: "pa55word")))
            request.cookies = cookies
            _ = try await client.send(request)
            _ = try await client.send(request)  // now with a Cookie header
        }
        let lines = logs.lines.withLock { $0.map(\.1) }
        #expect(lines.contains("> Authorization: <redacted>"))
        #expect(lines.contains("> Cookie: <redacted>"))
        #expect(lines.contains("< Set-Cookie: <redacted>"))
        #expect(lines.contains { $0.hasPrefix("> GET / HTTP/1.1") })
        let all = lines.joined(separator: "\n")
        let basic = Data("alice:pa55word".utf8).base64EncodedString()
        for secret in ["pa55word", basic, "srv~1", "body-text"] {
            #expect(!all.contains(secret), "\(secret) leaked into the trace")
        }
        try await server.stop()
    }

    @Test func noTraceUnlessEnabled() async throws {
        let server = try await TestServer.start { _, writer in writer.respond() }
        let logs = CapturedLogs()
        try await HTTPClient(configuration: .init(), logger: logs.logger()).use { client in
            _ = try await client.send(get(server.baseURL))
        }
        #expect(logs.lines.withLock { $0.filter { $0.0 == .trace }.isEmpty })
        try await server.stop()
    }
}
