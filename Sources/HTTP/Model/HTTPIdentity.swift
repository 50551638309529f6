public import Support
/// A tenant identity: credentials plus per-tenant TLS and proxy settings.
///
/// Every distinct identity (the whole value: tenant, credentials, TLS and proxy settings) gets its
/// own libcurl connection cache, because NTLM authenticates a TCP connection and a connection must
/// never be reused by another identity.
public struct HTTPIdentity: Sendable, Hashable {
    /// The auth kinds used everywhere in ewsfleet.
    public enum AuthKind: String, Sendable, Hashable, CaseIterable {
        case none, basic, ntlm, negotiate, oauth2
    }

    public enum Credentials: Sendable, Hashable {
        case none
        case basic(username: String, password: Secret)
        case ntlm(username: String, password: Secret)
        /// Kerberos/SPNEGO. With no username libcurl uses the ambient ticket cache.
        case negotiate(username: String?, password: Secret?)
        case oauth2(OAuth2ClientCredentials)
    }

    /// Stable name of the tenant (or tenant + account); part of the connection-cache key.
    public var tenant: String
    public var credentials: Credentials
    /// PEM CA bundle used instead of the system store, e.g. for an on-premises CA.
    public var caBundlePath: String?
    /// Turns certificate and host-name verification off. For lab servers only; logged as a warning.
    public var insecureSkipVerify: Bool
    /// HTTP proxy URL such as `http://proxy:3128`; nil means a direct connection (environment
    /// proxy variables are ignored on purpose so behaviour follows configuration only).
    public var proxy: String?

    public init(
        tenant: String, credentials: Credentials = .none, caBundlePath: String? = nil,
        insecureSkipVerify: Bool = false, proxy: String? = nil
    ) {
        self.tenant = tenant
        self.credentials = credentials
        self.caBundlePath = caBundlePath
        self.insecureSkipVerify = insecureSkipVerify
        self.proxy = proxy
    }

    /// No credentials: for requests that need none, and tests.
    public static let anonymous = HTTPIdentity(tenant: "anonymous")

    /// Who this identity's OAuth2 token requests run as: its TLS settings (CA bundle, verification
    /// switch) and proxy, so the token endpoint is reached the way its EWS server is, and no
    /// credentials (the client secret goes in the form body).
    var tokenEndpointIdentity: HTTPIdentity {
        HTTPIdentity(tenant: tenant, caBundlePath: caBundlePath, insecureSkipVerify: insecureSkipVerify, proxy: proxy)
    }

    public var authKind: AuthKind {
        switch credentials {
        case .none: .none
        case .basic: .basic
        case .ntlm: .ntlm
        case .negotiate: .negotiate
        case .oauth2: .oauth2
        }
    }
}

/// Client-credentials grant settings for OAuth2 (EWS §9.1).
public struct OAuth2ClientCredentials: Sendable, Hashable {
    public var tokenURL: String
    public var clientID: String
    public var clientSecret: Secret
    public var scope: String

    public init(
        tokenURL: String, clientID: String, clientSecret: Secret,
        scope: String = "https://outlook.office365.com/.default"
    ) {
        self.tokenURL = tokenURL
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scope = scope
    }
}
