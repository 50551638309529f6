import ArgumentParser
import Fleet
import HTTP
import Logging
import ServiceLifecycle
import Store
import UnixSignals

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the fleet service until SIGTERM or SIGINT.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("instance-id"), help: "This instance's name (default: hostname-pid).") var instanceID: String?
    @Option(name: .customLong("log-format"), help: "text or json") var logFormat: String?
    @Option(name: .customLong("coalescing-window-ms"), help: "Wait after a notification before syncing.") var coalescingMs: Int?

    func run() async throws {
        var flags: [String: String] = [:]
        if let instanceID { flags["instance.id"] = instanceID }
        if let logFormat { flags["log.format"] = logFormat }
        if let coalescingMs { flags["sync.coalescingWindowMs"] = String(coalescingMs) }
        let config = try await global.loadConfiguration(extraFlags: flags)
        LoggingSetup.bootstrap(format: config.logFormat, level: config.logLevel)
        let logger = Logger(label: "ewsfleet")
        let pool = try await global.openDatabase(config, logger: logger)
        let http = HTTPClient(logger: Logger(label: "ewsfleet.http"))
        var settings = FleetSettings(instanceID: config.instanceID)
        settings.coalescingWindow = config.coalescingWindow
        settings.safetySyncInterval = config.safetySyncInterval
        settings.backoffInitial = config.backoffInitial
        settings.backoffMax = config.backoffMax
        settings.leaseTTL = config.leaseTTL
        settings.streamIdleTimeout = config.streamIdleTimeout
        let supervisor = Supervisor(
            dependencies: .init(pool: pool, http: http, keyring: config.keyring, clock: ContinuousClock(), logger: logger),
            settings: settings)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: supervisor)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            await http.shutdown()
            await pool.shutdown()
            throw error
        }
        await http.shutdown()
        await pool.shutdown()
    }
}
