import TestSupport
import Foundation
import HTTP
import Testing

/// `ews-sim --tls --tls-ca-out PATH --ntlm-tenants 1`: the ready line names the CA file, and the
/// control API answers over HTTPS on the same port.
@Suite struct TLSCLITests {
    @Test(.enabled(if: EWSSimCLITests.binary != nil, "ews-sim binary not built next to the tests"), .timeLimit(.minutes(1)))
    func readyLineReportsCAFileAndControlAPIServesHTTPS() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ews-sim-cli-tls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let caPath = directory.appendingPathComponent("ca.pem").path
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: EWSSimCLITests.binary!)
        process.arguments = ["--port", "0", "--tenants", "2", "--mailboxes", "1", "--items-per-mailbox", "1",
                             "--tls", "--tls-ca-out", caPath, "--ntlm-tenants", "1"]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let line = await EWSSimCLITests.readLine(stdout.fileHandleForReading)
        let ready = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let port = try #require(ready["port"] as? Int)
        #expect(ready["url"] as? String == "https://127.0.0.1:\(port)")
        #expect(ready["ca_file"] as? String == caPath)
        #expect(FileManager.default.fileExists(atPath: caPath))

        let client = HTTPClient()
        let response: HTTPResponse
        do {
            response = try await client.send(HTTPRequest(
                method: "GET", url: "https://localhost:\(port)/_sim/tenants",
                identity: HTTPIdentity(tenant: "control", caBundlePath: caPath)))
            await client.shutdown()
        } catch {
            await client.shutdown()
            throw error
        }
        #expect(response.status == 200)
        let tenants = try #require(try JSONSerialization.jsonObject(with: response.body) as? [[String: Any]])
        #expect(tenants.map { $0["auth"] as? String } == ["ntlm", "basic"])
        #expect((tenants.first?["ews_url"] as? String)?.hasPrefix("https://127.0.0.1:\(port)/") == true)

        process.terminate()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume()
            }
        }
        #expect(process.terminationStatus == 0)
    }
}
