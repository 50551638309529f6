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

    @Test func secretKeyComesFromEnvironmentOrKeyFile() async throws {
        let (key, base64) = SecretKey.generate()
        let fromEnv = try await ServiceConfiguration.load(environment: ["EWSFLEET_SECRET_KEY": base64])
        #expect(fromEnv.keyring.current?.id == key.id)
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID())").path
        try Data("\(base64)\n".utf8).write(to: URL(fileURLWithPath: keyFile))
        let fromFile = try await ServiceConfiguration.load(configFile: try file(#"{"secret": {"keyFile": "\#(keyFile)"}}"#), environment: [:])
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
