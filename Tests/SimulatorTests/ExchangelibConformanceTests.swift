import TestSupport
import Foundation
import Testing
@testable import Simulator

/// Drives an in-process ews-sim (real clock, official schema) with exchangelib 5.6.0 through
/// Tests/Conformance/exchangelib_conformance.py. Runs when EWSFLEET_TEST_EXCHANGELIB_PYTHON names a
/// python that has exchangelib==5.6.0 (scripts/test creates that virtualenv).
@Suite struct ExchangelibConformanceTests {
    static let python = ProcessInfo.processInfo.environment["EWSFLEET_TEST_EXCHANGELIB_PYTHON"]

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Conformance/exchangelib_conformance.py").path

    @Test(.enabled(if: python != nil, "set EWSFLEET_TEST_EXCHANGELIB_PYTHON to a python with exchangelib==5.6.0"),
          .timeLimit(.minutes(2)))
    func exchangelibVersionFolderSubscribeStreamSyncFetchUnsubscribe() async throws {
        var configuration = SimConfiguration()
        configuration.tenants = 1
        configuration.mailboxesPerTenant = 3
        configuration.schemaDirectory = SimFixture.schemaDirectory
        let server = try SimulatorServer(configuration: configuration)
        let port = try await server.start()
        let result = await Result { try await Self.run(Self.python!, [Self.script, "http://127.0.0.1:\(port)"]) }
        try await server.shutdown()
        let (status, output) = try result.get()
        #expect(status == 0, "exchangelib conformance failed:\n\(output)")
        #expect(output.contains("\"ok\": true"))
        let stats = server.world.statsSnapshot()  // still readable after shutdown
        // exchangelib probed for WWW-Authenticate, then sent ConvertId for the version.
        #expect(stats.count("Unauthorized", status: 401) >= 1)
        #expect(stats.count("ConvertId", status: 200) >= 1)
        #expect(stats.count("GetStreamingEvents", status: 200) == 1)
    }

    /// Runs a child process to completion on a Dispatch thread (not the cooperative pool).
    static func run(_ executable: String, _ arguments: [String]) async throws -> (Int32, String) {
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
            }
        }
    }
}

extension Result where Failure == any Error {
    /// `Result(catching:)` for async bodies.
    init(_ body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
