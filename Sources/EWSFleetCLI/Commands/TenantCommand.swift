import ArgumentParser
import Foundation
import Store
import Support

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Manage tenants (organisations and their EWS service identity).",
        subcommands: [TenantAddCommand.self, TenantListCommand.self, TenantShowCommand.self, TenantUpdateCommand.self,
                      TenantRemoveCommand.self, TenantTestCommand.self])
}

/// Where a secret comes from: never a command-line argument (it would show in `ps` and shell history).
struct SecretSource: ParsableArguments {
    @Flag(name: .customLong("secret-stdin"), help: "Read the password or client secret from standard input.")
    var stdin = false
    @Option(name: .customLong("secret-env"), help: "Read the secret from this environment variable.")
    var env: String?
    @Option(name: .customLong("secret-file"), help: "Read the secret from this file.")
    var file: String?

    func validate() throws {
        guard [stdin, env != nil, file != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("give at most one of --secret-stdin, --secret-env, --secret-file")
        }
    }

    /// The secret, trimmed of one trailing newline; nil when no source was given.
    func read() throws -> Secret? {
        var text: String?
        if stdin {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else if let env {
            guard let value = ProcessInfo.processInfo.environment[env] else {
                throw CLIError(.invalidInput, "environment variable \(env) is not set")
            }
            text = value
        } else if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CLIError(.invalidInput, "cannot read secret file \(file)")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        guard var secret = text else { return nil }
        if secret.hasSuffix("\n") { secret.removeLast() }
        if secret.hasSuffix("\r") { secret.removeLast() }
        guard !secret.isEmpty else { throw CLIError(.invalidInput, "the secret is empty") }
        return Secret(secret)
    }
}

/// `--auth` values; the same names as `AuthKind` everywhere in ewsfleet.
enum AuthOption: String, ExpressibleByArgument, CaseIterable {
    case oauth2, basic, ntlm, negotiate
    var kind: AuthKind { AuthKind(rawValue: rawValue)! }
}

struct TenantAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a tenant.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name (letters, digits, . _ -).") var name: String
    @Option(name: .customLong("ews-url"), help: "EWS endpoint, e.g. https://outlook.office365.com/EWS/Exchange.asmx")
    var ewsURL: String
    @Option(name: .customLong("autodiscover-url"), help: "SOAP Autodiscover endpoint, for affinity grouping.")
    var autodiscoverURL: String?
    @Option(help: "Authentication: oauth2, basic, ntlm or negotiate.") var auth: AuthOption
    @Option(help: "Username (basic, ntlm, negotiate) or client id (oauth2).") var identity: String
    @Option(name: .customLong("token-url"), help: "OAuth2 token endpoint.") var tokenURL: String?
    @Option(help: "OAuth2 scope.") var scope: String = NewTenant.defaultOAuthScope
    @Flag(inversion: .prefixedNo, help: "Impersonate each mailbox (ExchangeImpersonation).") var impersonation = true
    @Option(name: .customLong("max-concurrent"), help: "Concurrent EWS requests for this identity.") var maxConcurrent: Int?
    @Option(help: "Requests per second for this identity.") var rate: Double?
    @Option(name: .customLong("subscriptions-per-connection"), help: "Subscriptions per streaming connection (≤ 200).")
    var subscriptionsPerConnection: Int?
    @Option(name: .customLong("hanging-connections"),
            help: "Streaming connections this identity may hold (EWS HangingConnectionLimit: 10 online, 3 on Exchange 2013); binds only without impersonation.")
    var hangingConnections: Int?
    @Option(name: .customLong("ca-bundle"), help: "CA bundle for this tenant's TLS.") var caBundle: String?
    @Flag(help: "Skip TLS verification (lab servers only).") var insecure = false
    @Flag(name: .customLong("allow-plain-http"), inversion: .prefixedNo,
          help: "Allow URLs that are not https:// (lab and test servers only): the credential crosses the network unencrypted.")
    var allowPlainHTTP = false
    @Option(help: ArgumentHelp(
        "How mailboxes learn of changes: notify (streaming notifications say when, sync says what) or sync-only "
            + "(no subscriptions: every folder is synced each --poll-interval). Mailboxes may override it."))
    var mode: ModeOption = .notify
    @Option(name: .customLong("poll-interval"), help: ArgumentHelp(PollInterval.help))
    var pollInterval = PollInterval(argument: "60s")!
    @Option(help: PropertiesOption.help) var properties: String = "default"
    @Option(name: .customLong("calendar-window"), help: CalendarWindowOption.help) var calendarWindow: String = "30d,365d"
    @OptionGroup var secret: SecretSource

    func validate() throws {
        _ = try PropertiesOption.parse(properties)
        _ = try CalendarWindowOption.parse(calendarWindow)
        guard ewsURL.hasPrefix("https://") || ewsURL.hasPrefix("http://") else {
            throw ValidationError("--ews-url must be an http(s) URL")
        }
        if auth == .oauth2, tokenURL == nil { throw ValidationError("--auth oauth2 needs --token-url") }
        if let n = subscriptionsPerConnection, !(1...200).contains(n) {
            throw ValidationError("--subscriptions-per-connection must be 1...200")
        }
        if let n = hangingConnections, !(1...1000).contains(n) { throw ValidationError("--hanging-connections must be 1...1000") }
        if let refusal = PlainHTTPRefusal.check(tenant: name, authKind: auth.kind, ewsURL: ewsURL, autodiscoverURL: autodiscoverURL,
                                                tokenURL: tokenURL, allowPlainHTTP: allowPlainHTTP) {
            throw ValidationError(refusal.usageMessage)
        }
    }

    func run() async throws {
        let secret = try secret.read()
        if secret == nil, auth != .negotiate { throw CLIError(.invalidInput, "a secret is required: --secret-stdin, --secret-env or --secret-file") }
        try await withDatabase(global) { config, pool in
            var policy = ThrottlingPolicy(maxConcurrentRequests: config.throttling.maxConcurrentRequests,
                                          requestRate: config.throttling.requestRate,
                                          subscriptionsPerConnection: config.throttling.subscriptionsPerConnection,
                                          hangingConnections: config.throttling.hangingConnections)
            if let maxConcurrent { policy.maxConcurrentRequests = maxConcurrent }
            if let rate { policy.requestRate = rate }
            if let subscriptionsPerConnection { policy.subscriptionsPerConnection = subscriptionsPerConnection }
            if let hangingConnections { policy.hangingConnections = hangingConnections }
            let tenant = NewTenant(name: name, ewsURL: ewsURL, autodiscoverURL: autodiscoverURL, authKind: auth.kind,
                                   identity: identity, tokenURL: tokenURL, scope: auth == .oauth2 ? scope : nil,
                                   impersonation: impersonation, throttling: policy, caBundle: caBundle, insecureTLS: insecure,
                                   allowPlainHTTP: allowPlainHTTP, syncMode: mode.mode,
                                   pollIntervalSeconds: pollInterval.seconds,
                                   itemProperties: try PropertiesOption.parse(properties) ?? .default,
                                   calendarWindow: try CalendarWindowOption.parse(calendarWindow) ?? .default)
            try await TenantRepository(pool: pool).add(tenant, secret: secret, keyring: config.keyring)
            note("added tenant \(name)")
        }
    }
}

struct TenantListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List tenants.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "table or json") var format: OutputFormat = .table

    func run() async throws {
        let tenants = try await withDatabase(global) { _, pool in try await TenantRepository(pool: pool).list() }
        TableOutput(columns: ["name", "state", "auth", "identity", "ews_url", "impersonation", "max_concurrent", "mode"],
                    rows: tenants.map { [$0.name, $0.state.rawValue, $0.authKind.rawValue, $0.identity, $0.ewsURL,
                                         String($0.impersonation), String($0.throttling.maxConcurrentRequests),
                                         $0.syncMode.rawValue] })
            .print(format)
    }
}
