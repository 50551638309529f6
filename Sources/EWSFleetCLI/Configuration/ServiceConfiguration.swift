import Configuration
import Foundation
import Logging
import Store
import SystemPackage

/// Everything `ewsfleet` reads from its configuration, resolved once at start-up.
///
/// Precedence, highest first: command-line flag, environment variable (`EWSFLEET_` + the key in
/// upper snake case, e.g. `database.url` → `EWSFLEET_DATABASE_URL`), the JSON configuration file
/// (`--config` or `EWSFLEET_CONFIG`), then the defaults below. Config/ewsfleet.example.json lists every key
/// but `instance.id`, best left to its default (hostname-pid).
struct ServiceConfiguration: Sendable {
    var databaseURL: String
    var databasePoolSize: Int
    var keyring: SecretKeyring
    var metricsHost: String
    var metricsPort: Int
    var logFormat: LogFormat
    var logLevel: Logger.Level
    var instanceID: String
    var leaseTTL: Duration
    var throttling: ThrottlingDefaults
    var backoffInitial: Duration
    var backoffMax: Duration
    var coalescingWindow: Duration
    var safetySyncInterval: Duration
    var pollInterval: Duration
    var streamIdleTimeout: Duration
    var stream: StreamPacing
    /// `sync.deleteOnNotification`: apply DeletedEvents at once (FleetSettings).
    var deleteOnNotification = true

    /// How stream groups and resubscribes are paced (FleetSettings has the meaning of each).
    struct StreamPacing: Sendable, Equatable {
        var healthyAfter: Duration
        var backoffInitial: Duration
        var joinQuiet: Duration
        var joinMaxDelay: Duration
        var startupGateMax: Duration
        var maxResubscribes: Int
    }

    enum LogFormat: String, Sendable { case text, json }

    struct ThrottlingDefaults: Sendable, Equatable {
        var maxConcurrentRequests: Int
        var requestRate: Double
        var subscriptionsPerConnection: Int
        var hangingConnections: Int
    }

    /// Keys whose values never reach an access log or error: the reader marks them secret.
    static let secretKeys: Set<String> = ["EWSFLEET_SECRET_KEY", "EWSFLEET_SECRET_PREVIOUS_KEYS", "EWSFLEET_DATABASE_URL"]

    /// - Parameters:
    ///   - flags: values given on the command line, keyed like the file (`database.url`).
    ///   - environment: the process environment (injected for tests).
    static func load(
        flags: [String: String] = [:],
        configFile: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> ServiceConfiguration {
        var providers: [any ConfigProvider] = []
        var flagValues: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in flags {
            flagValues[AbsoluteConfigKey(ConfigKey(key))] = ConfigValue(
                typed(value), isSecret: key.hasPrefix("secret") || key == "database.url")
        }
        providers.append(InMemoryProvider(name: "flags", values: flagValues))
        providers.append(
            EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: .specific(secretKeys))
                .prefixKeys(with: "ewsfleet"))
        if let path = configFile ?? environment["EWSFLEET_CONFIG"], !path.isEmpty {
            guard FileManager.default.fileExists(atPath: path) else {
                throw CLIError(.configuration, "configuration file \(path) does not exist")
            }
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
            } catch {
                throw CLIError(.configuration, "configuration file \(path) is not valid JSON: \(error)")
            }
        }
        return try resolve(ConfigReader(providers: providers))
    }

    /// Flags arrive as text; typed content lets `int(forKey:)` read "0" as 0 (an in-memory
    /// provider does not convert strings the way the environment provider does).
    static func typed(_ value: String) -> ConfigContent {
        if let int = Int(value) { return .int(int) }
        if let double = Double(value) { return .double(double) }
        if value == "true" || value == "false" { return .bool(value == "true") }
        return .string(value)
    }

    static func resolve(_ config: ConfigReader) throws -> ServiceConfiguration {
        func duration(ms key: String, default value: Int) throws -> Duration {
            let ms = config.int(forKey: ConfigKey(key), default: value)
            guard ms >= 0 else { throw CLIError(.configuration, "\(key) must not be negative") }
            return .milliseconds(ms)
        }
        let url = config.string(forKey: "database.url", isSecret: true, default: "postgres://postgres@127.0.0.1:5432/ewsfleet")
        let format = config.string(forKey: "log.format", default: "text")
        guard let logFormat = LogFormat(rawValue: format) else {
            throw CLIError(.configuration, "log.format must be text or json, not \(format)")
        }
        let level = config.string(forKey: "log.level", default: "info")
        guard let logLevel = Logger.Level(rawValue: level) else {
            throw CLIError(.configuration, "log.level must be one of trace, debug, info, notice, warning, error, critical")
        }
        return ServiceConfiguration(
            databaseURL: url,
            databasePoolSize: max(1, config.int(forKey: "database.poolSize", default: 8)),
            keyring: try loadKeyring(config),
            metricsHost: config.string(forKey: "metrics.host", default: "127.0.0.1"),
            metricsPort: config.int(forKey: "metrics.port", default: 9464),
            logFormat: logFormat,
            logLevel: logLevel,
            instanceID: config.string(forKey: "instance.id", default: defaultInstanceID()),
            leaseTTL: .seconds(config.int(forKey: "lease.ttlSeconds", default: 30)),
            throttling: ThrottlingDefaults(
                maxConcurrentRequests: config.int(forKey: "throttling.maxConcurrentRequests", default: 10),
                requestRate: config.double(forKey: "throttling.requestRate", default: 20),
                subscriptionsPerConnection: config.int(forKey: "throttling.subscriptionsPerConnection", default: 200),
                hangingConnections: config.int(forKey: "throttling.hangingConnections", default: 10)),
            backoffInitial: try duration(ms: "backoff.initialMs", default: 1_000),
            backoffMax: try duration(ms: "backoff.maxMs", default: 300_000),
            coalescingWindow: try duration(ms: "sync.coalescingWindowMs", default: 2_000),
            safetySyncInterval: .seconds(config.int(forKey: "sync.safetyIntervalSeconds", default: 900)),
            pollInterval: .seconds(max(1, config.int(forKey: "sync.pollIntervalSeconds", default: 60))),
            streamIdleTimeout: try duration(ms: "stream.idleTimeoutMs", default: 90_000),
            stream: StreamPacing(
                healthyAfter: .seconds(max(1, config.int(forKey: "stream.healthyAfterSeconds", default: 30))),
                backoffInitial: try duration(ms: "stream.backoffInitialMs", default: 2_000),
                joinQuiet: try duration(ms: "stream.joinQuietMs", default: 1_000),
                joinMaxDelay: try duration(ms: "stream.joinMaxDelayMs", default: 10_000),
                startupGateMax: .seconds(max(0, config.int(forKey: "stream.startupGateMaxSeconds", default: 120))),
                maxResubscribes: max(1, config.int(forKey: "stream.maxResubscribes", default: 3))),
            deleteOnNotification: config.bool(forKey: "sync.deleteOnNotification", default: true))
    }

    /// The current key comes from `secret.key` (EWSFLEET_SECRET_KEY) or `secret.keyFile`; keys still
    /// accepted for reading during a rotation from `secret.previousKeys` (comma-separated) or
    /// `secret.previousKeyFiles`.
    static func loadKeyring(_ config: ConfigReader) throws -> SecretKeyring {
        do {
            var current: SecretKey?
            if let text = config.string(forKey: "secret.key", isSecret: true), !text.isEmpty {
                current = try SecretKey(base64: text)
            } else if let file = config.string(forKey: "secret.keyFile"), !file.isEmpty {
                current = try SecretKey.load(file: file)
            }
            var previous: [SecretKey] = []
            for text in (config.string(forKey: "secret.previousKeys", isSecret: true) ?? "").split(separator: ",") {
                previous.append(try SecretKey(base64: String(text)))
            }
            for file in (config.string(forKey: "secret.previousKeyFiles") ?? "").split(separator: ",") {
                previous.append(try SecretKey.load(file: String(file)))
            }
            return SecretKeyring(current: current, previous: previous)
        } catch {
            throw CLIError(.configuration, error.description)
        }
    }

    static func defaultInstanceID() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }
}
