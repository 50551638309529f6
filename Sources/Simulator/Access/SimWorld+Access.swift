/// Taking rights away (and giving them back), as library calls; `/_sim/access` uses the same.
extension SimWorld {
    /// Applies `rule` to its mailbox, merging with what earlier rules for the same identity set.
    public func setAccess(_ rule: SimAccessRule) throws(SimError) {
        try locked { () throws(SimError) in
            _ = try requireMailbox(rule.mailbox)
            accessBook.apply(rule)
        }
    }

    /// Convenience for `setAccess(SimAccessRule(...))`.
    public func setAccess(mailbox: String, identity: String? = nil, delegate: Bool? = nil,
                          impersonation: Bool? = nil) throws(SimError) {
        try setAccess(SimAccessRule(mailbox: mailbox, identity: identity, delegate: delegate, impersonation: impersonation))
    }

    /// Back to the default rights, for one mailbox or all.
    public func resetAccess(mailbox: String? = nil) {
        lock.withLock { accessBook.reset(mailbox: mailbox) }
    }

    /// Every rule in force, by mailbox and identity.
    public func accessRules() -> [SimAccessRule] {
        lock.withLock { accessBook.all }
    }
}
