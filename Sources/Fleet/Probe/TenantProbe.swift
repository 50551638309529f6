import EWS
public import HTTP
public import Logging
public import Store

/// `ewsfleet tenant test`: checks one tenant against one mailbox, step by step — credentials,
/// reachability, authentication, impersonation rights (a one-item SyncFolderItems of the inbox as
/// that mailbox), and a subscribe/unsubscribe round trip. Stops at the first failing step.
public enum TenantProbe {
    public enum StepName: String, Sendable, CaseIterable {
        case credentials, reachable, authentication, impersonation, subscribe, unsubscribe
    }

    public struct Step: Sendable, Equatable {
        public var name: StepName
        public var ok: Bool
        public var detail: String
    }

    public struct Report: Sendable {
        public var steps: [Step]
        /// The first failed step, if any.
        public var failed: Step? { steps.first { !$0.ok } }
    }

    public static func run(tenant: Tenant, mailbox: String, keyring: SecretKeyring, http: HTTPClient,
                           logger: Logger, timeout: Duration = .seconds(15)) async -> Report {
        var steps: [Step] = []
        let identity: HTTPIdentity
        do {
            identity = try TenantIdentity.http(for: tenant, keyring: keyring)
            steps.append(Step(name: .credentials, ok: true, detail: "secret opened (\(tenant.authKind.rawValue))"))
        } catch {
            steps.append(Step(name: .credentials, ok: false, detail: "\(error)"))
            return Report(steps: steps)
        }
        let clock = ContinuousClock()
        let endpoint = EWSClient<ContinuousClock>.Endpoint(
            url: tenant.ewsURL, identity: identity, impersonation: tenant.impersonation,
            timeouts: HTTPTimeouts(connect: timeout, total: timeout, idleRead: timeout))
        let client = EWSClient(endpoint: endpoint, http: http,
                               budget: IdentityBudget(maxConcurrent: 2, rate: 10, clock: clock), logger: logger)
        let cookies = AffinityCookieStore()
        let ews = TenantEWS(client: client, routeFor: { EWSClient<ContinuousClock>.Route(mailbox: $0, anchor: $0, cookies: cookies) })

        do {
            _ = try await ews.syncFolderItems(mailbox: mailbox, folder: "inbox", syncState: nil, maxChanges: 1)
            steps += [Step(name: .reachable, ok: true, detail: tenant.ewsURL),
                      Step(name: .authentication, ok: true, detail: "accepted as \(tenant.identity)"),
                      Step(name: .impersonation, ok: true,
                           detail: tenant.impersonation ? "can open \(mailbox) by impersonation" : "can open \(mailbox) (delegate access)")]
        } catch {
            steps += classify(error, tenant: tenant, mailbox: mailbox)
            return Report(steps: steps)
        }

        let subscription: String
        do {
            subscription = try await ews.subscribe(mailbox: mailbox, watch: .default).id
            steps.append(Step(name: .subscribe, ok: true, detail: "streaming subscription on inbox"))
        } catch {
            steps.append(Step(name: .subscribe, ok: false, detail: "\(error)"))
            return Report(steps: steps)
        }
        do {
            try await ews.unsubscribe(mailbox: mailbox, subscriptionID: subscription)
            steps.append(Step(name: .unsubscribe, ok: true, detail: "subscription removed"))
        } catch {
            steps.append(Step(name: .unsubscribe, ok: false, detail: "\(error)"))
        }
        return Report(steps: steps)
    }

    /// Which step a failed first call belongs to: no HTTP answer at all is reachability; HTTP 401
    /// or refused credentials is authentication; an EWS response code (the server answered as the
    /// identity) is impersonation/mailbox access.
    static func classify(_ error: any Error, tenant: Tenant, mailbox: String) -> [Step] {
        let reachable = Step(name: .reachable, ok: true, detail: tenant.ewsURL)
        guard let call = error as? EWSCallError else {
            return [Step(name: .reachable, ok: false, detail: "\(error)")]
        }
        if call.httpStatus == 401 || call.decision.code == "AuthenticationFailed" {
            return [reachable, Step(name: .authentication, ok: false, detail: "refused: \(call.message)")]
        }
        if call.httpStatus == 403 {
            return [reachable, Step(name: .authentication, ok: false, detail: "EWS refused with HTTP 403 (blocked for this app?)")]
        }
        if call.decision.code.hasPrefix("Error") {
            return [reachable, Step(name: .authentication, ok: true, detail: "accepted as \(tenant.identity)"),
                    Step(name: .impersonation, ok: false, detail: "\(call.decision.code): \(call.message)")]
        }
        if call.httpStatus != nil {
            return [reachable, Step(name: .authentication, ok: false, detail: "\(call.message)")]
        }
        return [Step(name: .reachable, ok: false, detail: "\(call.message)")]
    }
}
