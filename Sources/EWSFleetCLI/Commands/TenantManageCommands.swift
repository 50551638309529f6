import ArgumentParser
import Foundation
import Fleet
import HTTP
import Store

struct TenantShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one tenant (never its secret).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String
    @Option(help: "table or json") var format: OutputFormat = .table

    func run() async throws {
        let (tenant, mailboxes) = try await withDatabase(global) { _, pool in
            let tenant = try await TenantRepository(pool: pool).require(name: name)
            return (tenant, try await MailboxRepository(pool: pool).list(tenant: name).count)
        }
        let fields: [(String, String?)] = [
            ("name", tenant.name), ("state", tenant.state.rawValue), ("state_reason", tenant.stateReason),
            ("ews_url", tenant.ewsURL), ("autodiscover_url", tenant.autodiscoverURL), ("auth", tenant.authKind.rawValue),
            ("identity", tenant.identity), ("token_url", tenant.tokenURL), ("scope", tenant.scope),
            ("secret", tenant.sealedSecret.map { "sealed with key \($0.keyID)" } ?? "none"),
            ("impersonation", String(tenant.impersonation)),
            ("max_concurrent_requests", String(tenant.throttling.maxConcurrentRequests)),
            ("request_rate", String(tenant.throttling.requestRate)),
            ("subscriptions_per_connection", String(tenant.throttling.subscriptionsPerConnection)),
            ("hanging_connections", String(tenant.throttling.hangingConnections)),
            ("ca_bundle", tenant.caBundle), ("insecure_tls", String(tenant.insecureTLS)), ("mailboxes", String(mailboxes)),
        ]
        TableOutput(columns: fields.map(\.0), rows: [fields.map(\.1)]).print(format, transposed: format == .table)
    }
}

struct TenantUpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Change a tenant's settings or secret.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String
    @Option(name: .customLong("ews-url")) var ewsURL: String?
    @Option(name: .customLong("autodiscover-url")) var autodiscoverURL: String?
    @Option var identity: String?
    @Option(name: .customLong("token-url")) var tokenURL: String?
    @Option var scope: String?
    @Option(help: "on or off") var impersonation: OnOff?
    @Option(name: .customLong("max-concurrent")) var maxConcurrent: Int?
    @Option var rate: Double?
    @Option(name: .customLong("subscriptions-per-connection")) var subscriptionsPerConnection: Int?
    @Option(name: .customLong("hanging-connections")) var hangingConnections: Int?
    @Option(help: "active or disabled (also clears a blocked state)") var state: StateOption?
    @OptionGroup var secret: SecretSource

    enum OnOff: String, ExpressibleByArgument { case on, off }
    enum StateOption: String, ExpressibleByArgument { case active, disabled }

    func validate() throws {
        if let ewsURL, !(ewsURL.hasPrefix("https://") || ewsURL.hasPrefix("http://")) {
            throw ValidationError("--ews-url must be an http(s) URL")
        }
        if let n = subscriptionsPerConnection, !(1...200).contains(n) {
            throw ValidationError("--subscriptions-per-connection must be 1...200")
        }
        if let n = hangingConnections, !(1...1000).contains(n) { throw ValidationError("--hanging-connections must be 1...1000") }
    }

    func run() async throws {
        let newSecret = try secret.read()
        var update = TenantUpdate()
        update.ewsURL = ewsURL
        update.autodiscoverURL = autodiscoverURL
        update.identity = identity
        update.tokenURL = tokenURL
        update.scope = scope
        update.impersonation = impersonation.map { $0 == .on }
        update.maxConcurrentRequests = maxConcurrent
        update.requestRate = rate
        update.subscriptionsPerConnection = subscriptionsPerConnection
        update.hangingConnections = hangingConnections
        update.state = state.map { TenantState(rawValue: $0.rawValue)! }
        guard update != TenantUpdate() || newSecret != nil else { throw CLIError(.usage, "nothing to update: give at least one option") }
        try await withDatabase(global) { config, pool in
            try await TenantRepository(pool: pool).update(name: name, update, secret: newSecret, keyring: config.keyring)
        }
        note("updated tenant \(name)")
    }
}

struct TenantRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a tenant with its mailboxes, mirror and status (changes history stays).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String

    func run() async throws {
        try await withDatabase(global) { _, pool in try await TenantRepository(pool: pool).remove(name: name) }
        note("removed tenant \(name)")
    }
}

/// `tenant test NAME MAILBOX`: one line per step on stdout (or JSON); exit 69 when the endpoint is
/// unreachable, 77 when authentication or impersonation is refused, 1 for other failures.
struct TenantTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Check reachability, authentication, impersonation and a subscribe/unsubscribe round trip for one mailbox.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String
    @Argument(help: "A mailbox of the tenant to test with.") var mailbox: String
    @Option(help: "Seconds to wait for each request.") var timeout = 15
    @Option(help: "table or json") var format: OutputFormat = .table

    func run() async throws {
        guard let address = SMTPAddress.normalize(mailbox) else { throw CLIError(.invalidInput, "invalid email address \(mailbox)") }
        let report = try await withDatabase(global) { config, pool in
            let tenant = try await TenantRepository(pool: pool).require(name: name)
            let http = HTTPClient(logger: GlobalOptions.quietLogger)
            let report = await TenantProbe.run(tenant: tenant, mailbox: address, keyring: config.keyring, http: http,
                                               logger: GlobalOptions.quietLogger, timeout: .seconds(timeout))
            await http.shutdown()
            return report
        }
        TableOutput(columns: ["step", "result", "detail"],
                    rows: report.steps.map { [$0.name.rawValue, $0.ok ? "ok" : "FAILED", $0.detail] }).print(format)
        if let failed = report.failed {
            let kind: CLIError.Kind =
                switch failed.name {
                case .reachable: .unavailable
                case .credentials, .authentication, .impersonation: .permission
                case .subscribe, .unsubscribe: .failure
                }
            throw CLIError(kind, "tenant \(name): \(failed.name.rawValue) failed: \(failed.detail)")
        }
    }
}
