import Foundation
@testable import EWSFleetCLI
import Store
import Testing

@Suite struct ServiceConfigurationTests {
    func file(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ewsfleet-\(UUID()).json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func precedenceIsFlagThenEnvironmentThenFileThenDefault() async throws {
        let path = try file(#"{"database": {"url": "postgres://file/db", "poolSize": 3}, "metrics": {"port": 1111}, "sync": {"coalescingWindowMs": 500}}"#)
        let env = ["EWSFLEET_DATABASE_URL": "postgres://env/db", "EWSFLEET_METRICS_PORT": "2222"]
        let both = try await ServiceConfiguration.load(
            flags: ["database.url": "postgres://flag/db", "sync.coalescingWindowMs": "0"], configFile: path, environment: env)
        #expect(both.databaseURL == "postgres://flag/db")   // flag beats env and file
        #expect(both.metricsPort == 2222)                   // env beats file
        #expect(both.databasePoolSize == 3)                 // file beats default
        #expect(both.coalescingWindow == .zero)            // a numeric flag beats the file
        #expect(both.safetySyncInterval == .seconds(900))   // default
        let noFlag = try await ServiceConfiguration.load(configFile: path, environment: env)
        #expect(noFlag.databaseURL == "postgres://env/db")
        let fileOnly = try await ServiceConfiguration.load(environment: ["EWSFLEET_CONFIG": path])
        #expect(fileOnly.databaseURL == "postgres://file/db")
    }

    @Test func streamPacingHasDefaultsAndEveryKeyIsRead() async throws {
        let defaults = try await ServiceConfiguration.load(environment: [:])
        #expect(defaults.stream == .init(healthyAfter: .seconds(30), backoffInitial: .seconds(2), joinQuiet: .seconds(1),
                                         joinMaxDelay: .seconds(10), startupGateMax: .seconds(120), maxResubscribes: 3))
        let env = ["EWSFLEET_STREAM_HEALTHY_AFTER_SECONDS": "45", "EWSFLEET_STREAM_BACKOFF_INITIAL_MS": "5000",
                   "EWSFLEET_STREAM_JOIN_QUIET_MS": "250", "EWSFLEET_STREAM_JOIN_MAX_DELAY_MS": "3000",
                   "EWSFLEET_STREAM_STARTUP_GATE_MAX_SECONDS": "30", "EWSFLEET_STREAM_MAX_RESUBSCRIBES": "5"]
        let set = try await ServiceConfiguration.load(environment: env)
        #expect(set.stream == .init(healthyAfter: .seconds(45), backoffInitial: .seconds(5), joinQuiet: .milliseconds(250),
                                    joinMaxDelay: .seconds(3), startupGateMax: .seconds(30), maxResubscribes: 5))
    }

    @Test func secretKeyComesFromEnvironmentOrKeyFile() async throws {
        let (key, base64) = SecretKey.generate()
        let fromEnv = try await ServiceConfiguration.load(environment: ["EWSFLEET_SECRET_KEY": base64])
        #expect(fromEnv.keyring.current?.id == key.id)
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID())").path
        try Data("\(base64)\n".utf8).write(to: URL(fileURLWithPath: keyFile))
        defer { try? FileManager.default.removeItem(atPath: keyFile) }
        let config = try file(#"{"secret": {"keyFile": "\#(keyFile)"}}"#)
        // A key file that group or others can read is refused, with one error that says what to do.
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: keyFile)
        await #expect { try await ServiceConfiguration.load(configFile: config, environment: [:]) } throws: {
            "\($0)".contains("chmod 600") && !"\($0)".contains(base64)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile)
        let fromFile = try await ServiceConfiguration.load(configFile: config, environment: [:])
        #expect(fromFile.keyring.current?.id == key.id)
    }

    @Test func badValuesAreOneClearConfigurationError() async throws {
        await #expect(throws: CLIError.self) {
            try await ServiceConfiguration.load(environment: ["EWSFLEET_SECRET_KEY": "short"])
        }
        await #expect(throws: CLIError.self) {
            try await ServiceConfiguration.load(environment: ["EWSFLEET_LOG_FORMAT": "xml"])
        }
        await #expect(throws: CLIError.self) {
            try await ServiceConfiguration.load(configFile: "/nonexistent/ewsfleet.json", environment: [:])
        }
        await #expect(throws: CLIError.self) {
            try await ServiceConfiguration.load(configFile: try file("{not json"), environment: [:])
        }
    }
}
