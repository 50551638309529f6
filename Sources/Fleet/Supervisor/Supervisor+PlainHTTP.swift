import Logging
import Store

extension Supervisor {
    /// The tenants as this reconcile pass must treat them. One whose credential would go to a URL
    /// that is not https:// without its permission (a row changed behind the CLI's back, e.g. by
    /// SQL) is disabled, saying why in its `state_reason`, and treated as disabled from here on: it
    /// is not started, and a running one stops like any disabled tenant. Its credential is never
    /// sent. Disabled rather than retried, because only an operator can fix it; the reason names
    /// the command that does.
    func refusingPlainHTTP(_ tenants: [Tenant]) async -> [Tenant] {
        var result = tenants
        for i in result.indices where result[i].state != .disabled {
            guard let refusal = result[i].plainHTTPRefusal else { continue }
            let reason = Self.reason(refusal)
            deps.logger.error("refusing to run the tenant", metadata: ["tenant": "\(refusal.tenant)", "reason": "\(reason)"])
            do {
                try await TenantRepository(pool: deps.pool).disableRefused(result[i], reason: reason)
            } catch {
                deps.logger.warning("cannot record the refusal; the tenant stays stopped",
                                    metadata: ["tenant": "\(refusal.tenant)", "error": "\(error)"])
            }
            result[i].state = .disabled
            result[i].stateReason = reason
        }
        return result
    }

    static func reason(_ refusal: PlainHTTPRefusal) -> String {
        "ewsfleet refused to run it: \(refusal.endpointsNotHTTPS(named: \.column)), \(refusal.consequence); use https://, "
            + "or allow plain http (lab and test servers only): "
            + "ewsfleet tenant update \(refusal.tenant) --allow-plain-http --state active"
    }
}
