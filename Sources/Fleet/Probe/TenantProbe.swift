import EWS
public import HTTP
public import Logging
public import Store

/// `ewsfleet tenant test`: checks one tenant step by step against one mailbox (or two) — credentials,
/// reachability, authentication, access to the mailbox (impersonation or delegate), a subscription,
/// a stream that must bring a clean first heartbeat, a grouped stream for two mailboxes, and the
/// unsubscribe. Every step reads what the server said (ResponseClass and ResponseCode), never only
/// that it answered. Stops at the first failing step.
public enum TenantProbe {
    public enum StepName: String, Sendable, CaseIterable {
        case credentials, reachable, authentication, impersonation, subscribe, stream
        case groupedStream = "grouped_stream"
        case unsubscribe
    }

    public enum Outcome: String, Sendable {
        case ok
        /// Works, but not as Exchange does: ewsfleet adapts (the detail says how).
        case warning
        case failed = "FAILED"
    }

    public struct Step: Sendable, Equatable {
        public var name: StepName
        public var outcome: Outcome
        public var detail: String
        public var ok: Bool { outcome != .failed }

        init(_ name: StepName, _ outcome: Outcome, _ detail: String) {
            self.name = name
            self.outcome = outcome
            self.detail = detail
        }
    }

    public struct Report: Sendable {
        public var steps: [Step]
        /// The first failed step, if any.
        public var failed: Step? { steps.first { !$0.ok } }
    }

    /// `second`: another mailbox of the tenant, for the grouped-stream step.
    public static func run(tenant: Tenant, mailbox: String, second: String? = nil, keyring: SecretKeyring,
                           http: HTTPClient, logger: Logger, timeout: Duration = .seconds(15)) async -> Report {
        var steps: [Step] = []
        let identity: HTTPIdentity
        do {
            identity = try TenantIdentity.http(for: tenant, keyring: keyring)
            steps.append(Step(.credentials, .ok, "secret opened (\(tenant.authKind.rawValue))"))
        } catch {
            steps.append(Step(.credentials, .failed, "\(error)"))
            return Report(steps: steps)
        }
        let probe = Probe(tenant: tenant, identity: identity, http: http, logger: logger, timeout: timeout)
        await probe.run(mailbox: mailbox, second: second, into: &steps)
        return Report(steps: steps)
    }

    /// Which step a failed first call belongs to: no HTTP answer at all is reachability; HTTP 401
    /// or refused credentials is authentication; an EWS response code (the server answered as the
    /// identity) is impersonation/mailbox access.
    static func classify(_ error: any Error, tenant: Tenant, mailbox: String) -> [Step] {
        let reachable = Step(.reachable, .ok, tenant.ewsURL)
        guard let call = error as? EWSCallError else {
            return [Step(.reachable, .failed, "\(error)")]
        }
        if call.httpStatus == 401 || call.decision.code == "AuthenticationFailed" {
            return [reachable, Step(.authentication, .failed, "refused: \(call.message)")]
        }
        if call.httpStatus == 403 {
            return [reachable, Step(.authentication, .failed, "EWS refused with HTTP 403 (blocked for this app?)")]
        }
        if call.decision.code.hasPrefix("Error") {
            return [reachable, Step(.authentication, .ok, "accepted as \(tenant.identity)"),
                    Step(.impersonation, .failed, "\(call.decision.code): \(call.message)")]
        }
        if call.httpStatus != nil {
            return [reachable, Step(.authentication, .failed, "\(call.message)")]
        }
        return [Step(.reachable, .failed, "\(call.message)")]
    }
}
