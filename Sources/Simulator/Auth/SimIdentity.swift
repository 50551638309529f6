import Foundation

/// Who is calling, after authentication.
struct SimIdentity: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// The tenant's service account (Basic); holds the impersonation role.
        case service
        /// An ordinary mailbox user (Basic); may open only its own mailbox, may not impersonate.
        case user(mailbox: Int)
        /// The tenant's OAuth2 app (client credentials, full_access_as_app).
        case app
    }

    var tenantIndex: Int
    var kind: Kind
    /// Stable key used for subscription ownership.
    var key: String

    var canImpersonate: Bool { !isUser }
    var isUser: Bool { if case .user = kind { return true } else { return false } }
}

/// An OAuth2 access token issued by a tenant's token endpoint.
struct IssuedToken: Sendable {
    var tenantIndex: Int
    var clientId: String
    var expiresAt: Duration
}

extension SimWorld {
    enum AuthOutcome { case ok(SimIdentity), missing, refused }

    /// Checks an Authorization header against `tenant`. Tokens of other tenants, expired tokens and
    /// wrong passwords are all refused (401), without saying which.
    func authenticate(_ tenant: Tenant, authorization: String?) -> AuthOutcome {
        guard let authorization, let space = authorization.firstIndex(of: " ") else { return .missing }
        let scheme = authorization[..<space].lowercased()
        let value = authorization[authorization.index(after: space)...].trimmingCharacters(in: .whitespaces)
        switch scheme {
        case "basic":
            guard let data = Data(base64Encoded: value), let text = String(data: data, encoding: .utf8),
                  let colon = text.firstIndex(of: ":") else { return .refused }
            var user = String(text[..<colon]).lowercased()
            let password = String(text[text.index(after: colon)...])
            // DOMAIN\user and UPN forms both name the same account.
            if let slash = user.lastIndex(of: "\\") { user = String(user[user.index(after: slash)...]) }
            if user == tenant.username.lowercased() || user == tenant.username.split(separator: "@").first.map(String.init) {
                return constantTimeEqual(password, tenant.password)
                    ? .ok(SimIdentity(tenantIndex: tenant.index, kind: .service, key: "svc:\(tenant.name)")) : .refused
            }
            if let mailbox = lock.withLock({ mailbox(smtp: user) }), mailbox.tenantIndex == tenant.index {
                return constantTimeEqual(password, tenant.userPassword)
                    ? .ok(SimIdentity(tenantIndex: tenant.index, kind: .user(mailbox: mailbox.index), key: "user:\(mailbox.smtp)"))
                    : .refused
            }
            return .refused
        case "bearer":
            return lock.withLock {
                guard let token = tokens[value], token.tenantIndex == tenant.index, clock.now() < token.expiresAt else {
                    return .refused
                }
                return .ok(SimIdentity(tenantIndex: tenant.index, kind: .app, key: "app:\(token.clientId)"))
            }
        default:
            return .refused
        }
    }

    /// Client-credentials grant at the tenant's token endpoint. Returns nil for a bad client.
    func issueToken(_ tenant: Tenant, clientId: String, clientSecret: String) -> (token: String, expiresIn: Int)? {
        guard clientId == tenant.clientId, constantTimeEqual(clientSecret, tenant.clientSecret) else { return nil }
        return lock.withLock {
            let token = "sim." + tenant.name + "." + randomHex(24)
            tokens[token] = IssuedToken(tenantIndex: tenant.index, clientId: clientId,
                                        expiresAt: clock.now() + configuration.tokenLifetime)
            return (token, Int(configuration.tokenLifetime.components.seconds))
        }
    }

    private func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
