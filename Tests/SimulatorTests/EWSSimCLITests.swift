import TestSupport
import Foundation
import Testing

/// The `ews-sim` executable: one JSON line with the URL when ready, a working control API, and a
/// clean exit on SIGTERM. The binary sits next to the test bundle (swift build builds all products).
@Suite struct EWSSimCLITests {
    static let binary: String? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [directory, directory.deletingLastPathComponent()].map { $0.appendingPathComponent("ews-sim").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    @Test(.enabled(if: binary != nil, "ews-sim binary not built next to the tests"), .timeLimit(.minutes(1)))
    func printsOneReadyLineServesAndStopsOnSIGTERM() async throws {
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: Self.binary!)
        process.arguments = ["--port", "0", "--tenants", "1", "--mailboxes", "2", "--items-per-mailbox", "1",
                             "--seed", "3", "--heartbeat", "5"] + (SimFixture.schemaDirectory.map { ["--schema-dir", $0] } ?? [])
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = await Self.readLine(stdout.fileHandleForReading)
        let ready = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let url = try #require(ready["url"] as? String)
        let port = try #require(ready["port"] as? Int)
        #expect(url == "http://127.0.0.1:\(port)")
        let tenants = try await RawHTTP.send(port: port, method: .GET, path: "/_sim/tenants")
        #expect(tenants.status == 200)
        #expect(tenants.body.contains("user2@tenant1.example"))
        process.terminate()  // SIGTERM
        await Self.waitForExit(process)
        #expect(process.terminationStatus == 0)
    }

    @Test(.enabled(if: binary != nil, "ews-sim binary not built next to the tests"), .timeLimit(.minutes(1)),
          arguments: [["--budget-burst", "0"], ["--budget-burst", "5", "--budget-recharge", "0"]])
    func refusesAnInvalidBudget(arguments: [String]) async throws {
        #expect(try await Self.exitStatus(["--max-concurrency", "3", "--max-sync-calls", "1"] + arguments) != 0)
    }

    @Test(.enabled(if: binary != nil, "ews-sim binary not built next to the tests"), .timeLimit(.minutes(1)))
    func dialectFlagSetsEveryTenantsDialect() async throws {
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: Self.binary!)
        process.arguments = ["--port", "0", "--tenants", "2", "--mailboxes", "1", "--dialect", "gromox"]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = await Self.readLine(stdout.fileHandleForReading)
        let ready = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(ready["dialect"] as? String == "gromox")
        let port = try #require(ready["port"] as? Int)
        let tenants = try await RawHTTP.send(port: port, method: .GET, path: "/_sim/tenants")
        #expect(tenants.body.components(separatedBy: "\"dialect\":\"gromox\"").count == 3)
        process.terminate()
        await Self.waitForExit(process)
        #expect(process.terminationStatus == 0)
    }

    @Test(.enabled(if: binary != nil, "ews-sim binary not built next to the tests"), .timeLimit(.minutes(1)))
    func refusesAnUnknownDialect() async throws {
        #expect(try await Self.exitStatus(["--dialect", "lotus"]) != 0)
    }

    /// An immediate retry after a throttling advice: past a 0-ms grace (the retry can only arrive
    /// after the advice was written, on the real clock), within a 60-s one.
    @Test(.enabled(if: binary != nil, "ews-sim binary not built next to the tests"), .timeLimit(.minutes(1)),
          arguments: [("0", true), ("60000", false)])
    func adviceGraceFlagSetsWhatCountsAsAViolation(graceMs: String, isViolation: Bool) async throws {
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: Self.binary!)
        process.arguments = ["--port", "0", "--tenants", "1", "--mailboxes", "1", "--advice-grace-ms", graceMs]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { process.terminate() }
        let line = await Self.readLine(stdout.fileHandleForReading)
        let ready = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let port = try #require(ready["port"] as? Int)
        let tenants = try await RawHTTP.send(port: port, method: .GET, path: "/_sim/tenants")
        let tenant = try #require((try JSONSerialization.jsonObject(with: Data(tenants.body.utf8)) as? [[String: Any]])?.first)
        let user = try #require(tenant["username"] as? String), password = try #require(tenant["password"] as? String)
        _ = try await RawHTTP.send(port: port, path: "/_sim/faults", headers: ["Content-Type": "application/json"],
                                   body: #"{"kind": "throttle", "identity": "svc:tenant1", "seconds": 60}"#)
        let auth = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        for _ in 0..<2 {
            let busy = try await RawHTTP.send(port: port, path: "/t/tenant1/EWS/Exchange.asmx", headers: ["Authorization": auth],
                                              body: Soap.syncFolderItems("user1@tenant1.example"))
            #expect(Soap.faultCode(busy.body) == "ErrorServerBusy")
        }
        let stats = try JSONSerialization.jsonObject(with: Data(try await RawHTTP.send(port: port, method: .GET, path: "/_sim/stats").body.utf8))
        let counts = stats as? [String: Any]
        #expect((counts?["backoff_violations"] as? [String: Int])?["svc:tenant1"] == (isViolation ? 1 : 0))
        #expect((counts?["in_flight_at_advice"] as? [String: Int])?["svc:tenant1"] == (isViolation ? 0 : 1))
    }

    @Test(.enabled(if: binary != nil, "ews-sim binary not built next to the tests"), .timeLimit(.minutes(1)))
    func refusesANegativeAdviceGrace() async throws {
        #expect(try await Self.exitStatus(["--advice-grace-ms", "-1"]) != 0)
    }

    /// Runs ews-sim on a free port with `arguments` until it exits (a refused option exits at once).
    static func exitStatus(_ arguments: [String]) async throws -> Int32 {
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: binary!)
        process.arguments = ["--port", "0"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        await waitForExit(process)
        return process.terminationStatus
    }

    /// Waits on a Dispatch thread (`waitUntilExit` blocks, so not on the cooperative pool).
    static func waitForExit(_ process: SpawnedProcess) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume()
            }
        }
    }

    /// Reads up to the first newline on a Dispatch thread (blocking read, off the cooperative pool).
    static func readLine(_ handle: FileHandle) async -> String {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var bytes: [UInt8] = []
                while true {
                    let data = handle.readData(ofLength: 1)
                    guard let byte = data.first, byte != UInt8(ascii: "\n") else { break }
                    bytes.append(byte)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
    }
}
