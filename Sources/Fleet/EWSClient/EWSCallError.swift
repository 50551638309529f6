import EWS
import HTTP

/// Any failed EWS call, already classified by the one action table (EWS.EWSActionTable): the
/// fleet decides what to do from `decision.action` and never interprets codes itself.
struct EWSCallError: Error, CustomStringConvertible, Sendable, Equatable {
    var decision: EWSActionDecision
    var message: String
    /// The HTTP status when the failure was at the HTTP level (403 marks a tenant `blocked`).
    var httpStatus: Int?

    var description: String { "\(decision.code): \(message)" }

    /// EWS refused this tenant outright (Exchange Online blocks EWS for apps not allowed).
    var isTenantBlocked: Bool { httpStatus == 403 }

    static let connectFailedCode = "ConnectFailed"

    var failure: MailboxFailure { MailboxFailure(action: decision.action, code: decision.code, message: message) }

    init(decision: EWSActionDecision, message: String, httpStatus: Int? = nil) {
        self.decision = decision
        self.message = message
        self.httpStatus = httpStatus
    }

    init(status: EWSResponseStatus) {
        self.init(decision: EWSActionTable.action(for: status), message: status.messageText ?? status.responseCode)
    }

    init(fault: EWSSOAPFault) {
        self.init(decision: EWSActionTable.action(for: fault), message: fault.message ?? fault.faultString)
    }

    init(http failure: EWSHTTPFailure) {
        self.init(decision: EWSActionTable.action(for: failure), message: "HTTP \(failure.status.map(String.init) ?? failure.kind.rawValue)",
                  httpStatus: failure.status)
    }

    /// Transport failures. Refused credentials (token endpoint, auth) and TLS failures are
    /// configuration problems: give up (the mailbox is retried rarely). Connect failures,
    /// timeouts and resets are transient: bounded retries.
    init(transport error: HTTPError) {
        switch error.code {
        case .tokenEndpoint, .auth:
            self.init(decision: EWSActionDecision(action: .giveUp, code: "AuthenticationFailed"), message: error.description)
        case .tls:
            self.init(decision: EWSActionDecision(action: .giveUp, code: "TLSFailed"), message: error.description)
        default:
            let kind: EWSHTTPFailure.Kind = error.code == .idleTimeout || error.code == .timeout ? .timedOut : .connectionReset
            var decision = EWSActionTable.action(for: EWSHTTPFailure(kind: kind))
            // Nothing listened (or the name did not resolve): a server that comes back after this
            // has restarted and forgotten its subscriptions (`SubscriptionTrust`).
            if error.code == .connectFailed { decision.code = Self.connectFailedCode }
            self.init(decision: decision, message: error.description)
        }
    }

    init(decoding error: EWSDecodingError) {
        self = .malformed(error.description)
    }

    /// A response that decodes but does not say what it must (no response message, a page without
    /// IncludesLastItemInRange, paging that does not advance): a few retries, then give up.
    static func malformed(_ what: String) -> EWSCallError {
        EWSCallError(decision: EWSActionDecision(action: .retryBounded(maxAttempts: EWSActionTable.fewAttempts, then: .giveUp),
                                                 code: "MalformedResponse"),
                     message: what)
    }
}
