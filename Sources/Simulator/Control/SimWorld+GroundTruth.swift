/// Library form of the control API's read side.
extension SimWorld {
    public struct TenantInfo: Sendable, Codable, Equatable {
        public var name: String
        public var ewsURL: String
        public var autodiscoverURL: String
        public var tokenURL: String
        public var username: String
        public var password: String
        public var clientId: String
        public var clientSecret: String
        public var userPassword: String
        public var servers: [String]
        public var mailboxes: [String]
        /// "basic" (Basic or OAuth2) or "ntlm" (NTLM required; Basic refused).
        public var auth: String
        /// How the tenant speaks on the wire ("exchange" or "gromox" in JSON).
        public var dialect: SimDialect

        enum CodingKeys: String, CodingKey {
            case name, ewsURL = "ews_url", autodiscoverURL = "autodiscover_url", tokenURL = "token_url"
            case username, password, clientId = "client_id", clientSecret = "client_secret"
            case userPassword = "user_password", servers, mailboxes, auth, dialect
        }
    }

    public struct ItemSnapshot: Sendable, Codable, Equatable {
        public var itemId: String
        public var changeKey: String
        public var isRead: Bool
        public var subject: String

        enum CodingKeys: String, CodingKey {
            case itemId = "item_id", changeKey = "change_key", isRead = "is_read", subject
        }
    }

    public func tenantInfos(baseURL: String) -> [TenantInfo] {
        lock.withLock {
            tenants.map { tenant in
                let prefix = "\(baseURL)/t/\(tenant.name)"
                return TenantInfo(
                    name: tenant.name, ewsURL: prefix + "/EWS/Exchange.asmx",
                    autodiscoverURL: prefix + "/autodiscover/autodiscover.svc", tokenURL: prefix + "/oauth2/v2.0/token",
                    username: tenant.username, password: tenant.password, clientId: tenant.clientId,
                    clientSecret: tenant.clientSecret, userPassword: tenant.userPassword, servers: tenant.servers,
                    mailboxes: tenant.mailboxes.map(\.smtp), auth: requiresNTLM(tenant) ? "ntlm" : "basic",
                    dialect: tenant.dialect)
            }
        }
    }

    /// The true current content of a folder (a search folder's results), newest first.
    public func items(mailbox smtp: String, folder: String = "inbox") throws(SimError) -> [ItemSnapshot] {
        try locked { () throws(SimError) -> [ItemSnapshot] in
            let mailbox = try requireMailbox(smtp)
            let target = try requireFolder(mailbox, folder)
            return contents(mailbox, target)
                .sorted { ($0.received, $0.key) > ($1.received, $1.key) }
                .map { ItemSnapshot(itemId: itemId(mailbox, $0), changeKey: SimIds.itemChangeKey($0.keySequence),
                                    isRead: $0.isRead, subject: $0.subject) }
        }
    }

    /// Every change made to the mailbox, oldest first (bounded by `ledgerLimit`).
    public func ledger(mailbox smtp: String) throws(SimError) -> [LedgerEntry] {
        try locked { () throws(SimError) -> [LedgerEntry] in
            let mailbox = try requireMailbox(smtp)
            return mailbox.ledger.map { ledgerEntry(mailbox, $0) }
        }
    }

    /// How many of the mailbox's oldest ledger entries were dropped to respect `ledgerLimit`.
    public func ledgerDropped(mailbox smtp: String) throws(SimError) -> Int {
        try locked { () throws(SimError) -> Int in try requireMailbox(smtp).ledgerDropped }
    }
}

extension SimWorld.TenantInfo: CustomStringConvertible, CustomDebugStringConvertible {
    /// Secrets stay out of logs and debug output; the control API hands them out deliberately.
    public var description: String {
        "TenantInfo(name: \(name), ewsURL: \(ewsURL), username: \(username), clientId: \(clientId), "
            + "password: <redacted>, clientSecret: <redacted>, mailboxes: \(mailboxes.count))"
    }

    public var debugDescription: String { description }
}
