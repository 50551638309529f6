/// A tenant whose credential would go to a URL that is not https://, without the tenant's
/// permission (`tenants.allow_plain_http`).
///
/// Every auth kind ewsfleet supports sends a credential with each request: a password (Basic), an
/// NTLM or Kerberos token, or a client secret and the bearer tokens it buys (OAuth2). Over plain
/// http:// anyone on the path reads it, and with it every mail. So a URL that carries the credential
/// must be https:// unless the tenant allows plain http (a lab server, ews-sim, gromox without TLS).
/// This is the one rule; the CLI refuses to store such a tenant, the store refuses to write one,
/// and the service refuses to run one that was changed behind its back.
public struct PlainHTTPRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// A tenant URL that carries the credential.
    public enum Endpoint: String, Sendable, CaseIterable {
        case ews = "ews_url"
        case autodiscover = "autodiscover_url"
        /// The OAuth2 token endpoint: the client secret travels in the request body.
        case token = "token_url"

        /// The column that holds it.
        public var column: String { rawValue }
        /// The `tenant add|update` option that sets it.
        public var option: String { "--" + rawValue.replacingOccurrences(of: "_", with: "-") }
    }

    public var tenant: String
    public var authKind: AuthKind
    /// The URLs that are not https://, in `Endpoint.allCases` order; never empty.
    public var endpoints: [Endpoint]

    /// The refusal, or nil when every URL that carries the credential is https:// or the tenant
    /// allows plain http. The scheme is compared case-insensitively; a URL without one counts as
    /// plain, because libcurl would send it over http.
    public static func check(
        tenant: String, authKind: AuthKind, ewsURL: String, autodiscoverURL: String?, tokenURL: String?,
        allowPlainHTTP: Bool
    ) -> PlainHTTPRefusal? {
        guard !allowPlainHTTP else { return nil }
        var plain: [Endpoint] = []
        if !isHTTPS(ewsURL) { plain.append(.ews) }
        if let autodiscoverURL, !isHTTPS(autodiscoverURL) { plain.append(.autodiscover) }
        // Only oauth2 uses the token URL; another kind's stored one is never requested.
        if authKind == .oauth2, let tokenURL, !isHTTPS(tokenURL) { plain.append(.token) }
        return plain.isEmpty ? nil : PlainHTTPRefusal(tenant: tenant, authKind: authKind, endpoints: plain)
    }

    static func isHTTPS(_ url: String) -> Bool { url.lowercased().hasPrefix("https://") }

    /// "ews_url does not use https://", "--ews-url and --token-url do not use https://": the
    /// endpoints by column (for status and logs) or by option (for the CLI).
    public func endpointsNotHTTPS(named name: (Endpoint) -> String) -> String {
        let names = endpoints.map(name)
        let list = names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
        return list + (names.count == 1 ? " does not use https://" : " do not use https://")
    }

    /// What the credential would suffer: "so its basic credential would cross the network unencrypted".
    public var consequence: String { "so its \(authKind.rawValue) credential would cross the network unencrypted" }

    public var description: String {
        "tenant \(tenant): \(endpointsNotHTTPS(named: \.column)), \(consequence); use https://, or allow plain http "
            + "for this tenant (lab and test servers only): ewsfleet tenant update \(tenant) --allow-plain-http"
    }
}

extension NewTenant {
    /// Why this tenant must not be added as it is, or its credential sent as its row stands
    /// (`tenant.plainHTTPRefusal`); nil when it may.
    public var plainHTTPRefusal: PlainHTTPRefusal? {
        PlainHTTPRefusal.check(tenant: name, authKind: authKind, ewsURL: ewsURL, autodiscoverURL: autodiscoverURL,
                               tokenURL: tokenURL, allowPlainHTTP: allowPlainHTTP)
    }
}
