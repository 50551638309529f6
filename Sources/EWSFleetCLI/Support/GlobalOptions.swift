import ArgumentParser
import Logging
import Store

/// Options every command that touches the database accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("database-url"),
            help: "PostgreSQL URL (default: EWSFLEET_DATABASE_URL, then the configuration file).")
    var databaseURL: String?

    @Option(name: .customLong("config"), help: "JSON configuration file (default: EWSFLEET_CONFIG).")
    var configFile: String?

    func loadConfiguration(extraFlags: [String: String] = [:]) async throws -> ServiceConfiguration {
        var flags = extraFlags
        if let databaseURL { flags["database.url"] = databaseURL }
        return try await ServiceConfiguration.load(flags: flags, configFile: configFile)
    }

    /// Opens the pool and proves the database answers, so a wrong URL or a down server is one clear
    /// line (naming host:port and libpq's reason) before any work starts.
    func openDatabase(_ config: ServiceConfiguration, logger: Logger = GlobalOptions.quietLogger) async throws -> PostgresPool {
        let pool = PostgresPool(PostgresConfiguration(url: config.databaseURL, poolSize: config.databasePoolSize), logger: logger)
        do {
            try await pool.withConnection { try await $0.query("SELECT 1", name: "ping") }
        } catch {
            await pool.shutdown()
            throw error
        }
        return pool
    }
}

extension GlobalOptions {
    /// Admin commands report failures through their one error line; the pool's own warnings about
    /// the same failure would only repeat it on stderr.
    static var quietLogger: Logger {
        var logger = Logger(label: "ewsfleet.cli")
        logger.logLevel = .critical
        return logger
    }
}

/// Runs `body` with an open pool and always shuts it down.
func withDatabase<T: Sendable>(
    _ options: GlobalOptions, _ body: (ServiceConfiguration, PostgresPool) async throws -> T
) async throws -> T {
    let config = try await options.loadConfiguration()
    let pool = try await options.openDatabase(config)
    do {
        let result = try await body(config, pool)
        await pool.shutdown()
        return result
    } catch {
        await pool.shutdown()
        throw error
    }
}
