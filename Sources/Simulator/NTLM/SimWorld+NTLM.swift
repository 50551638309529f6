import NIOHTTP1

/// The auth gate of EWS and Autodiscover: Basic/Bearer for ordinary tenants, NTLM (connection-
/// bound, NTLMv2 only) for tenants configured to require it (`SimConfiguration.ntlmTenants`).
extension SimWorld {
    enum AuthDecision {
        case pass(SimIdentity)
        case deny(SimResponse)
    }

    /// The first `ntlmTenants` tenants require NTLM.
    func requiresNTLM(_ tenant: Tenant) -> Bool { tenant.index < configuration.ntlmTenants }

    func authorize(_ tenant: Tenant, request: SimRequest) -> AuthDecision {
        let authorization = request.headers.first(name: "Authorization")
        guard requiresNTLM(tenant) else {
            switch authenticate(tenant, authorization: authorization) {
            case .ok(let identity): return .pass(identity)
            case .missing, .refused: return .deny(EWSService.unauthorized(tenant))
            }
        }
        guard let connection = request.connection else { return .deny(Self.ntlmUnauthorized(nil)) }
        let now = clock.date().timeIntervalSince1970
        let action = connection.receive(
            authorization: authorization, scope: tenant.name,
            challenge: {
                NTLMChallenge.server(domain: tenant.name.uppercased(), computer: "EXCH01",
                                     dnsDomain: "\(tenant.name).example", fileTime: NTLMCrypto.fileTime(unixSeconds: now))
            },
            verify: { message, serverChallenge in
                guard let account = ntlmAccount(tenant, user: message.user),
                      message.verifiesV2(password: account.password, serverChallenge: serverChallenge) else { return nil }
                return account.identity
            })
        switch action {
        case .pass(let identity): return .pass(identity)
        case .challenge(let header): return .deny(Self.ntlmUnauthorized(header))
        case .reject: return .deny(Self.ntlmUnauthorized(nil))
        }
    }

    /// 401 for NTLM: bare `WWW-Authenticate: NTLM` to start, or carrying the type 2.
    static func ntlmUnauthorized(_ challenge: String?) -> SimResponse {
        .text(.unauthorized, "401 Unauthorized", headers: ["WWW-Authenticate": challenge ?? "NTLM"])
    }

    /// The account a type 3's user name names, with its password. The same names as Basic: the
    /// service account as UPN or bare name (the domain travels in its own field), or a mailbox.
    func ntlmAccount(_ tenant: Tenant, user: String) -> (password: String, identity: SimIdentity)? {
        let name = user.lowercased()
        let service = tenant.username.lowercased()
        if name == service || name == service.split(separator: "@").first.map(String.init) {
            return (tenant.password, SimIdentity(tenantIndex: tenant.index, kind: .service, key: "svc:\(tenant.name)"))
        }
        guard let mailbox = lock.withLock({ mailbox(smtp: name) }), mailbox.tenantIndex == tenant.index else { return nil }
        return (tenant.userPassword,
                SimIdentity(tenantIndex: tenant.index, kind: .user(mailbox: mailbox.index), key: "user:\(mailbox.smtp)"))
    }
}
