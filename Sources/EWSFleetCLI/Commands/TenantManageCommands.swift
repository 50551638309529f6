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
            ("grouping", tenant.grouping.rawValue), ("grouping_reason", tenant.groupingReason),
            ("sync_mode", tenant.syncMode.rawValue), ("poll_interval_seconds", String(tenant.pollIntervalSeconds)),
            ("item_properties", tenant.itemProperties.spec),
            ("calendar_window", tenant.calendarWindow.description),
            ("ca_bundle", tenant.caBundle), ("insecure_tls", String(tenant.insecureTLS)),
            ("allow_plain_http", String(tenant.allowPlainHTTP)), ("mailboxes", String(mailboxes)),
        ]
        TableOutput(columns: fields.map(\.0), rows: [fields.map(\.1)]).print(format, transposed: format == .table)
    }
}

struct TenantUpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Change a tenant's settings or secret.",
        discussion: "A running instance applies the change within seconds: it restarts the tenant with the new settings. "
            + "A new URL, auth kind, identity or impersonation setting makes every mailbox subscribe again; a new URL "
            + "also makes each folder sync again from scratch (diffed against the mirror).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String
    @Option(name: .customLong("ews-url")) var ewsURL: String?
    @Option(name: .customLong("autodiscover-url")) var autodiscoverURL: String?
    @Option(help: "Authentication: oauth2, basic, ntlm or negotiate.") var auth: AuthOption?
    @Option var identity: String?
    @Option(name: .customLong("token-url")) var tokenURL: String?
    @Option var scope: String?
    @Option(help: "on or off") var impersonation: OnOff?
    @Option(name: .customLong("max-concurrent")) var maxConcurrent: Int?
    @Option var rate: Double?
    @Option(name: .customLong("subscriptions-per-connection")) var subscriptionsPerConnection: Int?
    @Option(name: .customLong("hanging-connections")) var hangingConnections: Int?
    @Option(help: "active or disabled (also clears a blocked state)") var state: StateOption?
    @Option(help: ArgumentHelp(
        "How mailboxes share streaming connections: auto (up to 200 per connection, Exchange's way) or per_mailbox "
            + "(one each). ewsfleet switches to per_mailbox by itself when the server refuses grouped subscriptions; "
            + "auto resets that."))
    var grouping: GroupingOption?
    @Flag(name: .customLong("allow-plain-http"), inversion: .prefixedNo,
          help: ArgumentHelp("Allow or forbid URLs that are not https:// (lab and test servers only). The tenant as "
              + "updated is checked: an http:// URL needs this permission."))
    var allowPlainHTTP: Bool?
    @Option(name: .customLong("ca-bundle"), help: "CA bundle for this tenant's TLS; \"\" goes back to the system's CAs.")
    var caBundle: String?
    @Flag(inversion: .prefixedNo, help: "Skip TLS verification (lab servers only), or verify again.") var insecure: Bool?
    @Option(help: "notify or sync-only (for mailboxes that name no mode of their own).") var mode: ModeOption?
    @Option(name: .customLong("poll-interval"), help: ArgumentHelp(PollInterval.help)) var pollInterval: PollInterval?
    @Option(help: PropertiesOption.help) var properties: String?
    @Option(name: .customLong("calendar-window"), help: CalendarWindowOption.help) var calendarWindow: String?
    @OptionGroup var secret: SecretSource

    enum OnOff: String, ExpressibleByArgument { case on, off }
    enum StateOption: String, ExpressibleByArgument { case active, disabled }
    enum GroupingOption: String, ExpressibleByArgument, CaseIterable {
        case auto
        case perMailbox = "per_mailbox"
    }

    func validate() throws {
        if let ewsURL, !(ewsURL.hasPrefix("https://") || ewsURL.hasPrefix("http://")) {
            throw ValidationError("--ews-url must be an http(s) URL")
        }
        if let n = subscriptionsPerConnection, !(1...200).contains(n) {
            throw ValidationError("--subscriptions-per-connection must be 1...200")
        }
        if let n = hangingConnections, !(1...1000).contains(n) { throw ValidationError("--hanging-connections must be 1...1000") }
        _ = try PropertiesOption.parse(properties)
        _ = try CalendarWindowOption.parse(calendarWindow)
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
        update.grouping = grouping.map { StreamGrouping(rawValue: $0.rawValue)! }
        update.allowPlainHTTP = allowPlainHTTP
        update.authKind = auth?.kind
        update.caBundle = caBundle
        update.insecureTLS = insecure
        update.syncMode = mode?.mode
        update.pollIntervalSeconds = pollInterval?.seconds
        update.itemProperties = try PropertiesOption.parse(properties)
        update.calendarWindow = try CalendarWindowOption.parse(calendarWindow)
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
        abstract: "Check reachability, authentication, mailbox access, a subscription and its stream for one mailbox "
            + "(and a grouped stream when given a second one).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String
    @Argument(help: "A mailbox of the tenant to test with.") var mailbox: String
    @Argument(help: "A second mailbox: also test one stream carrying both subscriptions (grouping).") var second: String?
    @Option(help: "Seconds to wait for each request (and for a stream's first heartbeat).") var timeout = 15
    @Option(help: "table or json") var format: OutputFormat = .table

    func run() async throws {
        guard let address = SMTPAddress.normalize(mailbox) else { throw CLIError(.invalidInput, "invalid email address \(mailbox)") }
        let other = try second.map { raw in
            guard let address = SMTPAddress.normalize(raw) else { throw CLIError(.invalidInput, "invalid email address \(raw)") }
            return address
        }
        let report = try await withDatabase(global) { config, pool in
            let tenant = try await TenantRepository(pool: pool).require(name: name)
            let http = HTTPClient(logger: GlobalOptions.quietLogger)
            let report = await TenantProbe.run(tenant: tenant, mailbox: address, second: other, keyring: config.keyring,
                                               http: http, logger: GlobalOptions.quietLogger, timeout: .seconds(timeout))
            await http.shutdown()
            return report
        }
        TableOutput(columns: ["step", "result", "detail"],
                    rows: report.steps.map { [$0.name.rawValue, $0.outcome.rawValue, $0.detail] }).print(format)
        if let failed = report.failed {
            let kind: CLIError.Kind =
                switch failed.name {
                case .reachable: .unavailable
                case .credentials, .authentication, .impersonation: .permission
                case .subscribe, .stream, .groupedStream, .unsubscribe: .failure
                }
            throw CLIError(kind, "tenant \(name): \(failed.name.rawValue) failed: \(failed.detail)")
        }
    }
}
