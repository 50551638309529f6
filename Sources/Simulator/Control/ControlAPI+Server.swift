/// Control endpoints about the simulated servers themselves: dialect, rights, restarts.
extension ControlAPI {
    /// `POST /_sim/tenants {"name": "tenant1", "dialect": "gromox"}` → `{"name", "dialect"}`.
    func setTenant(_ body: [String: Any]) throws(SimError) -> [String: Any] {
        let name = try string(body, "name")
        if let value = body["dialect"] {
            guard let text = value as? String, let dialect = SimDialect(rawValue: text) else {
                let names = SimDialect.allCases.map(\.rawValue).joined(separator: " or ")
                throw SimError(.invalidArgument, "dialect is \(names)")
            }
            try world.setDialect(dialect, tenant: name)
        }
        return ["name": name, "dialect": try world.dialect(tenant: name).rawValue]
    }

    /// `POST /_sim/access {"mailbox", "identity"?, "delegate"?, "impersonation"?}` → the rules
    /// now in force for that mailbox.
    func setAccess(_ body: [String: Any]) throws(SimError) -> [String: Any] {
        let mailbox = try string(body, "mailbox")
        func flag(_ key: String) throws(SimError) -> Bool? {
            guard let value = body[key] else { return nil }
            guard let flag = value as? Bool else { throw SimError(.invalidArgument, "\(key) is true or false") }
            return flag
        }
        let identity = body["identity"] as? String
        let rule = SimAccessRule(mailbox: mailbox, identity: identity, delegate: try flag("delegate"),
                                 impersonation: try flag("impersonation"))
        guard rule.delegate != nil || rule.impersonation != nil else {
            throw SimError(.invalidArgument, "delegate or impersonation required")
        }
        try world.setAccess(rule)
        let rules = world.accessRules().filter { $0.mailbox == mailbox.lowercased() }
        return ["rules": rules.map(Self.accessJSON)]
    }

    /// `POST /_sim/restart {"tenant"?}` → what went and how many restarts so far.
    func restart(_ body: [String: Any]) throws(SimError) -> [String: Any] {
        let result = try world.restart(tenant: body["tenant"] as? String)
        return ["subscriptions_dropped": result.subscriptionsDropped, "streams_ended": result.streamsEnded,
                "restarts": world.statsSnapshot().restarts]
    }

    static func accessJSON(_ rule: SimAccessRule) -> [String: Any] {
        var object: [String: Any] = ["mailbox": rule.mailbox, "identity": rule.identity ?? "*"]
        if let delegate = rule.delegate { object["delegate"] = delegate }
        if let impersonation = rule.impersonation { object["impersonation"] = impersonation }
        return object
    }
}
