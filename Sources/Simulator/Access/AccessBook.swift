/// The access rules in force (guarded by `SimWorld.lock`): mailbox (lowercased SMTP) → identity
/// key, or `*` for everyone but the mailbox's user → the rights that rule sets.
struct AccessBook {
    enum Right { case delegate, impersonation }

    private var rules: [String: [String: SimAccessRule]] = [:]

    mutating func apply(_ rule: SimAccessRule) {
        let mailbox = rule.mailbox.lowercased()
        let identity = rule.identity ?? "*"
        var merged = rules[mailbox]?[identity] ?? SimAccessRule(mailbox: mailbox, identity: rule.identity)
        if let delegate = rule.delegate { merged.delegate = delegate }
        if let impersonation = rule.impersonation { merged.impersonation = impersonation }
        rules[mailbox, default: [:]][identity] = merged
    }

    mutating func reset(mailbox: String?) {
        if let mailbox { rules[mailbox.lowercased()] = nil } else { rules = [:] }
    }

    var all: [SimAccessRule] {
        rules.keys.sorted().flatMap { mailbox in
            rules[mailbox]!.keys.sorted().map { rules[mailbox]![$0]! }
        }
    }

    /// Does `identity` hold `right` on `mailbox`? The most specific rule wins, then the defaults.
    func allows(_ right: Right, identity: SimIdentity, mailbox: Mailbox) -> Bool {
        if identity.tenantIndex != mailbox.tenantIndex { return false }
        if case .user(let index) = identity.kind, index == mailbox.index { return true }
        let forMailbox = rules[mailbox.smtp.lowercased()]
        for rule in [forMailbox?[identity.key], forMailbox?["*"]] {
            guard let rule else { continue }
            if let value = right == .delegate ? rule.delegate : rule.impersonation { return value }
        }
        return !identity.isUser
    }
}
