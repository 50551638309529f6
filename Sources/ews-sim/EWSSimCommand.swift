import ArgumentParser
import Foundation
import Logging
import Simulator

/// `ews-sim`: an EWS server simulator with ground truth. Prints one JSON line with the listening
/// URL on stdout when ready; logs go to stderr.
@main
struct EWSSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ews-sim", abstract: "Simulated Exchange Web Services tenants, with a /_sim/ control API.")

    @Option(help: "Port to listen on (0 = any free port).") var port: Int = 0
    @Option(help: "Address to listen on. /_sim/ hands out credentials: keep it on loopback.") var host: String = "127.0.0.1"
    @Option(help: "Number of tenants.") var tenants: Int = 2
    @Option(help: "Mailboxes per tenant.") var mailboxes: Int = 5
    @Option(name: .customLong("items-per-mailbox"), help: "Initial items per mailbox.") var itemsPerMailbox: Int = 10
    @Option(name: .customLong("unread-search-folder"),
            help: "Give every mailbox a search folder of this name: the unread items of its inbox.")
    var unreadSearchFolder: String?
    @Option(help: "Mailbox servers per tenant.") var servers: Int = 3
    @Option(help: "Random seed (world, traffic, chunking).") var seed: UInt64 = 1
    @Option(help: "Streaming heartbeat interval in seconds.") var heartbeat: Int = 45
    @Option(name: .customLong("subscription-ttl"), help: "Seconds a subscription survives without a connection.")
    var subscriptionTTL: Int = 1800
    @Option(name: .customLong("token-lifetime"), help: "Seconds an OAuth2 token stays valid.") var tokenLifetime: Int = 3599
    @Option(name: .customLong("schema-dir"), help: "Validate request bodies against DIR/soap11-envelope.xsd.")
    var schemaDir: String?
    @Option(help: "Save every request body received into DIR.") var record: String?
    @Option(name: .customLong("traffic-rate"), help: "Start random user traffic at this many events per second.")
    var trafficRate: Double = 0
    @Option(name: .customLong("ledger-limit"), help: "Ledger rows kept per mailbox (oldest dropped first).")
    var ledgerLimit: Int = 20000
    @Flag(name: .customLong("keep-change-key-on-read"),
          help: "Keep an item's ChangeKey when only its read state changes (Exchange gives a new one).")
    var keepChangeKeyOnRead = false
    @Flag(name: .customLong("no-random-chunking"), help: "Write each streaming envelope as exactly one chunk.")
    var noRandomChunking = false
    @Flag(help: "Serve HTTPS with a CA and server certificate (localhost, 127.0.0.1) generated at start.")
    var tls = false
    @Option(name: .customLong("tls-ca-out"), help: "With --tls: write the CA certificate (PEM) here (default: a temp dir).")
    var tlsCAOut: String?
    @Option(name: .customLong("ntlm-tenants"), help: "The first N tenants require NTLM (NTLMv2) instead of Basic.")
    var ntlmTenants: Int = 0
    @Option(name: .customLong("max-concurrency"), help: "EWSMaxConcurrency per identity (0 = off).") var maxConcurrency: Int = 27
    @Option(name: .customLong("max-hanging-connections"), help: "Streaming connections per identity, or per impersonated mailbox (0 = off).")
    var maxHangingConnections: Int = 10
    @Option(name: .customLong("max-subscriptions"), help: "Live subscriptions per mailbox (0 = off).") var maxSubscriptions: Int = 20
    @Option(name: .customLong("max-sync-calls"), help: "Concurrent sync calls per mailbox (0 = off).") var maxSyncCalls: Int = 5
    @Option(name: .customLong("budget-burst"), help: "Recharging budget: requests an identity may burst (default: budget off).")
    var budgetBurst: Double?
    @Option(name: .customLong("budget-recharge"), help: "Recharging budget: requests per second regained.")
    var budgetRecharge: Double = 10
    @Option(name: .customLong("advice-grace-ms"),
            help: "A request inside an advised back-off is a violation only if it arrived more than this many ms after the advice was written.")
    var adviceGraceMs: Int = 50
    @Option(name: .customLong("log-level"), help: "trace|debug|info|notice|warning|error|critical") var logLevel: String = "info"
    @Option(help: "Wire dialect of every tenant at start: exchange|gromox (POST /_sim/tenants changes one tenant's).")
    var dialect: String = "exchange"

    func validate() throws {
        guard tenants >= 1, mailboxes >= 1, servers >= 1 else { throw ValidationError("tenants, mailboxes and servers must be ≥ 1") }
        guard heartbeat >= 1 else { throw ValidationError("--heartbeat must be ≥ 1 second") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard ntlmTenants >= 0 else { throw ValidationError("--ntlm-tenants must be ≥ 0") }
        guard budgetBurst.map({ $0 >= 1 }) ?? true, budgetRecharge > 0 else {
            throw ValidationError("--budget-burst must be ≥ 1 and --budget-recharge > 0")
        }
        guard adviceGraceMs >= 0 else { throw ValidationError("--advice-grace-ms must be ≥ 0") }
        guard tls || tlsCAOut == nil else { throw ValidationError("--tls-ca-out needs --tls") }
        guard SimDialect(rawValue: dialect) != nil else { throw ValidationError("--dialect must be exchange or gromox") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration = SimConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.tenants = tenants
        configuration.mailboxesPerTenant = mailboxes
        configuration.itemsPerMailbox = itemsPerMailbox
        configuration.unreadSearchFolder = unreadSearchFolder
        configuration.serversPerTenant = servers
        configuration.seed = seed
        configuration.heartbeat = .seconds(heartbeat)
        configuration.subscriptionTTL = .seconds(subscriptionTTL)
        configuration.tokenLifetime = .seconds(tokenLifetime)
        configuration.schemaDirectory = schemaDir
        configuration.recordDirectory = record
        configuration.randomChunking = !noRandomChunking
        configuration.ledgerLimit = max(1, ledgerLimit)
        configuration.keepChangeKeyOnReadChange = keepChangeKeyOnRead
        configuration.tls = tls
        configuration.tlsCAPath = tlsCAOut
        configuration.ntlmTenants = ntlmTenants
        configuration.maxConcurrency = maxConcurrency
        configuration.maxHangingConnections = maxHangingConnections
        configuration.maxSubscriptionsPerMailbox = maxSubscriptions
        configuration.maxConcurrentSyncCalls = maxSyncCalls
        configuration.budgetBurst = budgetBurst
        configuration.budgetRechargePerSecond = budgetRecharge
        configuration.adviceGrace = .milliseconds(adviceGraceMs)
        configuration.dialect = SimDialect(rawValue: dialect) ?? .exchange
        let server = try SimulatorServer(configuration: configuration)
        let boundPort = try await server.start()
        if trafficRate > 0 { server.traffic.set(rate: trafficRate) }
        var ready: [String: Any] = [
            "url": server.baseURL, "port": boundPort, "control_url": server.baseURL + "/_sim/",
            "tenants": tenants, "mailboxes_per_tenant": mailboxes, "dialect": dialect,
        ]
        if let caFile = server.caFile { ready["ca_file"] = caFile }
        let line = try JSONSerialization.data(withJSONObject: ready, options: [.sortedKeys, .withoutEscapingSlashes])
        FileHandle.standardOutput.write(line + Data("\n".utf8))
        await waitForTermination()
        try await server.shutdown()
    }

    /// Suspends until SIGINT or SIGTERM.
    private func waitForTermination() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = ResumeOnce(continuation)
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
                source.setEventHandler { once.resume() }
                source.resume()
                SignalSources.keep(source)
            }
        }
    }
}

/// Resumes a continuation exactly once, whichever signal comes first.
private final class ResumeOnce: @unchecked Sendable {
    // Safe: `continuation` is read and cleared under `lock`.
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }
    func resume() {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume()
    }
}

/// Keeps signal sources alive for the process lifetime.
private enum SignalSources {
    // Safe: only appended to from `waitForTermination`, which runs once, before any signal arrives.
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
    static func keep(_ source: any DispatchSourceSignal) { sources.append(source) }
}
