/// Choosing a tenant's dialect, as library calls (`POST /_sim/tenants` uses the same).
extension SimWorld {
    /// Switches one tenant's dialect from its next request on. Open streams keep the dialect
    /// they opened with, and subscriptions keep their ids; `restart(tenant:)` starts afresh.
    public func setDialect(_ dialect: SimDialect, tenant name: String) throws(SimError) {
        try locked { () throws(SimError) in
            guard let tenant = tenantByName[name] else { throw SimError(.unknownTenant, "no tenant \(name)") }
            tenant.dialect = dialect
        }
    }

    public func dialect(tenant name: String) throws(SimError) -> SimDialect {
        try locked { () throws(SimError) -> SimDialect in
            guard let tenant = tenantByName[name] else { throw SimError(.unknownTenant, "no tenant \(name)") }
            return tenant.dialect
        }
    }
}
