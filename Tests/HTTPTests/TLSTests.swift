import TestSupport
import Foundation
import Logging
import NIOCore
import NIOSSL
import Synchronization
import Testing
@testable import HTTP

/// A throwaway CA and a server certificate for 127.0.0.1, made with the `openssl` CLI.
struct TestPKI {
    let directory: URL
    var caPath: String { directory.appendingPathComponent("ca.pem").path }
    var certPath: String { directory.appendingPathComponent("server.pem").path }
    var keyPath: String { directory.appendingPathComponent("server.key").path }

    static func make() throws -> TestPKI {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ewsf-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(to: dir.appendingPathComponent("ext.cnf"), atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=ewsfleet test CA"], in: dir)
        try run(["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"], in: dir)
        try run(
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"], in: dir)
        return TestPKI(directory: dir)
    }

    private static func run(_ args: [String], in dir: URL) throws {
        let p = SpawnedProcess()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = args
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw HTTPError(code: .tls, message: "openssl \(args.first!) failed") }
    }

    func serverContext() throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certPath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
    }
}

/// Captures log messages so tests can check what was (and was not) logged.
final class CapturedLogs: Sendable {
    let lines = Mutex<[(Logger.Level, String)]>([])

    func logger() -> Logger {
        Logger(label: "test") { _ in Handler(sink: self) }
    }

    struct Handler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            sink.lines.withLock { $0.append((event.level, "\(event.message)")) }
        }
    }
}

@Suite struct TLSTests {
    @Test func selfSignedCAVerifiedWithBundleRefusedWithoutAcceptedInsecure() async throws {
        let pki = try TestPKI.make()
        defer { try? FileManager.default.removeItem(at: pki.directory) }
        let server = try await TestServer.start(tls: try pki.serverContext()) { _, writer in
            writer.respond(body: "secure hello")
        }
        let url = "https://127.0.0.1:\(server.port)/EWS/Exchange.asmx"
        let logs = CapturedLogs()
        let client = HTTPClient(configuration: .init(), logger: logs.logger())
        try await client.use { client in
            let verified = try await client.send(get(url, identity: HTTPIdentity(tenant: "onprem", caBundlePath: pki.caPath)))
            #expect(String(decoding: verified.body, as: UTF8.self) == "secure hello")
            #expect(verified.timing.tlsHandshake > .zero)

            let refused = await httpError { _ = try await client.send(get(url, identity: HTTPIdentity(tenant: "system-store"))) }
            #expect(refused?.code == .tls)
            #expect(refused?.curlCode == 60)
            #expect(refused?.isRetryable == false)

            #expect(logs.lines.withLock { $0.filter { $0.0 == .warning }.isEmpty })
            let insecure = try await client.send(get(url, identity: HTTPIdentity(tenant: "lab", insecureSkipVerify: true)))
            #expect(insecure.status == 200)
            let warnings = logs.lines.withLock { $0.filter { $0.0 == .warning }.map(\.1) }
            #expect(warnings.count == 1)
            #expect(warnings.first?.contains("VERIFICATION IS OFF") == true)
        }
        try await server.stop()
    }

    @Test func aWrongCABundleIsRefused() async throws {
        let pki = try TestPKI.make()
        let other = try TestPKI.make()
        defer {
            try? FileManager.default.removeItem(at: pki.directory)
            try? FileManager.default.removeItem(at: other.directory)
        }
        let server = try await TestServer.start(tls: try pki.serverContext()) { _, writer in writer.respond() }
        await makeClient().use { client in
            let error = await httpError {
                _ = try await client.send(get("https://127.0.0.1:\(server.port)/", identity: HTTPIdentity(tenant: "t", caBundlePath: other.caPath)))
            }
            #expect(error?.code == .tls)
        }
        try await server.stop()
    }
}
