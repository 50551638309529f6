import Foundation
import HTTP
import Testing
@testable import Simulator
import Support

/// `--tls`: the simulator serves HTTPS with a CA it generates at start and writes to a file.
@Suite struct TLSServerTests {
    static func withTLSSim<T>(_ body: (SimFixture, String) async throws -> T) async throws -> T {
        let caPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("ews-sim-tls-test-\(UUID().uuidString)/ca.pem").path
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: caPath).deletingLastPathComponent().path) }
        return try await SimFixture.with({
            $0.tls = true
            $0.tlsCAPath = caPath
        }) { sim in try await body(sim, caPath) }
    }

    static func call(_ sim: SimFixture, host: String = "127.0.0.1", caBundlePath: String? = nil,
                     insecure: Bool = false) async throws -> HTTPResponse {
        let info = sim.tenants[0]
        let request = HTTPRequest(
            url: "https://\(host):\(sim.port)\(sim.ewsPath(0))",
            headers: [(name: "Content-Type", value: "text/xml; charset=utf-8")],
            body: Data(Soap.syncFolderItems(info.mailboxes[0]).utf8),
            identity: HTTPIdentity(tenant: info.name, credentials: .basic(username: info.username, password: Secret(info.password)),
                                   caBundlePath: caBundlePath, insecureSkipVerify: insecure),
            timeouts: HTTPTimeouts(connect: .seconds(5), total: .seconds(20)))
        let client = HTTPClient()
        do {
            let response = try await client.send(request)
            await client.shutdown()
            return response
        } catch {
            await client.shutdown()
            throw error
        }
    }

    @Test func verifiesWithTheWrittenCA() async throws {
        try await Self.withTLSSim { sim, caPath in
            #expect(sim.server.caFile == caPath)
            #expect(sim.server.baseURL.hasPrefix("https://"))
            let pem = try String(contentsOfFile: caPath, encoding: .utf8)
            #expect(pem.hasPrefix("-----BEGIN CERTIFICATE-----"))
            // IP SAN and DNS SAN.
            for host in ["127.0.0.1", "localhost"] {
                let response = try await Self.call(sim, host: host, caBundlePath: caPath)
                #expect(response.status == 200)
                #expect(try Soap.messages(String(decoding: response.body, as: UTF8.self)).map(Soap.code) == ["NoError"])
            }
        }
    }

    @Test func refusesWithoutTheCA() async throws {
        try await Self.withTLSSim { sim, _ in
            let error = await #expect(throws: HTTPError.self) { try await Self.call(sim) }
            #expect(error?.code == .tls)
            // Some other CA (a fresh one) does not verify the server either.
            let otherCA = FileManager.default.temporaryDirectory.appendingPathComponent("other-ca-\(UUID().uuidString).pem").path
            defer { try? FileManager.default.removeItem(atPath: otherCA) }
            try SimTLS.generate().writeCA(to: otherCA)
            let wrong = await #expect(throws: HTTPError.self) { try await Self.call(sim, caBundlePath: otherCA) }
            #expect(wrong?.code == .tls)
        }
    }

    @Test func insecureSkipVerifyConnects() async throws {
        try await Self.withTLSSim { sim, _ in
            let response = try await Self.call(sim, insecure: true)
            #expect(response.status == 200)
        }
    }

    @Test func plainHTTPStaysTheDefault() async throws {
        try await SimFixture.with { sim in
            #expect(sim.server.caFile == nil)
            #expect(sim.server.baseURL.hasPrefix("http://"))
        }
    }
}
