/// A change to the rights other identities hold on one mailbox (`POST /_sim/access`).
///
/// By default a tenant's service account and OAuth app may open every mailbox of the tenant
/// directly (delegate / full access) and impersonate it; an ordinary user may open and
/// impersonate only its own mailbox. A rule overrides that for one mailbox: for one identity key
/// (`svc:tenant1`, `app:<client id>`, `user:<smtp>`), or with `identity` nil for every identity
/// except the mailbox's own user, who never loses its own mailbox. A nil right is left as it was.
public struct SimAccessRule: Sendable, Equatable, Codable {
    public var mailbox: String
    public var identity: String?
    /// May open the mailbox's folders and items without impersonation.
    public var delegate: Bool?
    /// May impersonate the mailbox (ExchangeImpersonation).
    public var impersonation: Bool?

    public init(mailbox: String, identity: String? = nil, delegate: Bool? = nil, impersonation: Bool? = nil) {
        self.mailbox = mailbox
        self.identity = identity
        self.delegate = delegate
        self.impersonation = impersonation
    }
}
