import ArgumentParser
import Fleet
import HTTP
import Logging
import Metrics
import Prometheus
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
        // Bootstrapped once, before any library creates a metric, so every metric lands in /metrics.
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[FleetMetrics.adviceLagLabel] = FleetMetrics.adviceLagBuckets
        MetricsSystem.bootstrap(factory)
        let pool = try await global.openDatabase(config, logger: logger)
        let health = FleetHealth(pool: pool)
        let metricsServer = MetricsServer(host: config.metricsHost, port: config.metricsPort,
                                          route: MetricsEndpoint.route(registry: registry, health: health))
        do {
            let port = try await metricsServer.start()
            logger.info("serving /metrics and /healthz", metadata: ["address": "\(config.metricsHost):\(port)"])
        } catch {
            await pool.shutdown()
            throw CLIError(.unavailable, "cannot serve metrics on \(config.metricsHost):\(config.metricsPort): \(error)")
        }
        let http = HTTPClient(logger: Logger(label: "ewsfleet.http"))
        var settings = FleetSettings(instanceID: config.instanceID)
        settings.coalescingWindow = config.coalescingWindow
        settings.safetySyncInterval = config.safetySyncInterval
        settings.pollInterval = config.pollInterval
        settings.backoffInitial = config.backoffInitial
        settings.backoffMax = config.backoffMax
        settings.leaseTTL = config.leaseTTL
        settings.streamIdleTimeout = config.streamIdleTimeout
        settings.streamHealthyAfter = config.stream.healthyAfter
        settings.streamBackoffInitial = config.stream.backoffInitial
        settings.joinQuiet = config.stream.joinQuiet
        settings.joinMaxDelay = config.stream.joinMaxDelay
        settings.startupGateMax = config.stream.startupGateMax
        settings.maxResubscribes = config.stream.maxResubscribes
        settings.deleteOnNotification = config.deleteOnNotification
        let supervisor = Supervisor(
            dependencies: .init(pool: pool, http: http, keyring: config.keyring, clock: ContinuousClock(), logger: logger),
            settings: settings)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: supervisor)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        health.markRunning(true)
        let outcome: Result<Void, any Error>
        do {
            try await group.run()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        health.markRunning(false)
        await metricsServer.stop()
        await http.shutdown()
        await pool.shutdown()
        try outcome.get()
    }
}
