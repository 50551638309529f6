import HTTP
import Store
import Support

/// Turns a tenant row into the transport identity: the sealed secret is opened here, in memory,
/// and wrapped in `Secret`, which never prints itself.
enum TenantIdentity {
    /// Throws `PlainHTTPRefusal` for a tenant whose credential would go to a URL that is not
    /// https:// without its permission: every path that sends it (the service, `tenant test`)
    /// builds its identity here, so none can send it.
    static func http(for tenant: Tenant, keyring: SecretKeyring) throws -> HTTPIdentity {
        if let refusal = tenant.plainHTTPRefusal { throw refusal }
        let secret = try tenant.sealedSecret.map { Secret(try keyring.open($0, tenant: tenant.name).unredactedValue) }
        let credentials: HTTPIdentity.Credentials
        switch tenant.authKind {
        case .basic:
            credentials = .basic(username: tenant.identity, password: try require(secret, tenant))
        case .ntlm:
            credentials = .ntlm(username: tenant.identity, password: try require(secret, tenant))
        case .negotiate:
            credentials = .negotiate(username: tenant.identity, password: secret)
        case .oauth2:
            guard let tokenURL = tenant.tokenURL else {
                throw StoreError(.invalidInput, "tenant \(tenant.name) uses oauth2 but has no token URL")
            }
            credentials = .oauth2(OAuth2ClientCredentials(
                tokenURL: tokenURL, clientID: tenant.identity, clientSecret: try require(secret, tenant),
                scope: tenant.scope ?? NewTenant.defaultOAuthScope))
        }
        return HTTPIdentity(tenant: tenant.name, credentials: credentials, caBundlePath: tenant.caBundle,
                            insecureSkipVerify: tenant.insecureTLS)
    }

    private static func require(_ secret: Secret?, _ tenant: Tenant) throws -> Secret {
        guard let secret else { throw StoreError(.invalidInput, "tenant \(tenant.name) has no secret stored") }
        return secret
    }
}
