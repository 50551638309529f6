/// THE table mapping every EWS ResponseCode and HTTP condition of fact sheet §7.2 to one action.
/// All classification lives here, so the Fleet never interprets codes itself.
public enum EWSActionTable {
    /// Attempts for `retryBounded` rows.
    public static let transientAttempts = 5
    public static let fewAttempts = 3

    /// Safe default for codes not in the table: a few retries, then give up (flagged unknown).
    public static let unknownDefault = EWSAction.retryBounded(maxAttempts: fewAttempts, then: .giveUp)

    private enum Row {
        case fixed(EWSAction)
        /// Throttling rows: the action is built with the message's hint.
        case throttled(reduce: Bool, budget: EWSBudget)
    }

    private static let rows: [String: Row] = {
        var rows: [String: Row] = ["NoError": .fixed(.proceed)]
        func add(_ codes: [String], _ row: Row) { for code in codes { rows[code] = row } }
        // Throttling.
        add(["ErrorServerBusy"], .throttled(reduce: false, budget: .server))
        add(["ErrorExceededConnectionCount"], .throttled(reduce: true, budget: .streamingConnections))
        add(["ErrorExceededSubscriptionCount"], .throttled(reduce: false, budget: .subscriptions))
        add(["ErrorMailboxMoveInProgress"], .throttled(reduce: false, budget: .server))
        // Transient server trouble: bounded retries.
        add(["ErrorTooManyObjectsOpened", "ErrorInsufficientResources", "ErrorInternalServerTransientError",
            "ErrorMailboxStoreUnavailable", "ErrorConnectionFailed", "ErrorTimeoutExpired",
            "ErrorBatchProcessingStopped"],
            .fixed(.retryBounded(maxAttempts: transientAttempts, then: .giveUp)))
        add(["ErrorInternalServerError", "ErrorStaleObject", "ErrorIrresolvableConflict"],
            .fixed(.retryBounded(maxAttempts: fewAttempts, then: .giveUp)))
        add(["ErrorProxiedSubscriptionCallFailure"], .fixed(.retryBounded(maxAttempts: fewAttempts, then: .resubscribe)))
        // Lost subscriptions.
        add(["ErrorProxyRequestNotAllowed"], .fixed(.resubscribe(rediscover: true)))
        add(["ErrorSubscriptionNotFound", "ErrorInvalidSubscription", "ErrorExpiredSubscription",
            "ErrorReadEventsFailed", "ErrorInvalidWatermark", "ErrorEventNotFound"],
            .fixed(.resubscribe(rediscover: false)))
        add(["ErrorSubscriptionUnsubscribed"], .fixed(.dropSubscription))
        add(["ErrorNewEventStreamConnectionOpened"], .fixed(.ignore))
        // Sync.
        add(["ErrorMissedNotificationEvents"], .fixed(.resyncFolder))
        add(["ErrorInvalidSyncStateData"], .fixed(.fullResync))
        add(["ErrorSyncFolderNotFound", "ErrorFolderNotFound"], .fixed(.refreshFolderHierarchy))
        add(["ErrorItemNotFound"], .fixed(.skipItem))
        // Permanent: configuration, permission or request bugs.
        add(["ErrorSubscriptionAccessDenied", "ErrorSubscriptionDelegateAccessNotSupported",
            "ErrorInvalidSubscriptionRequest", "ErrorAccessDenied", "ErrorImpersonateUserDenied",
            "ErrorImpersonationDenied", "ErrorNonExistentMailbox", "ErrorAccountDisabled",
            "ErrorInvalidServerVersion", "ErrorSchemaValidation", "ErrorInvalidRequest",
            "ErrorInvalidSchemaVersionForMailboxVersion"],
            .fixed(.giveUp))
        return rows
    }()

    /// Every ResponseCode the table knows (for tests and documentation).
    public static var knownResponseCodes: [String] { rows.keys.sorted() }

    /// Action for a ResponseCode with its MessageXml values and text (for backoff/policy hints).
    public static func action(
        forCode code: String, messageXML: [String: String] = [:], messageText: String? = nil
    ) -> EWSActionDecision {
        guard let row = rows[code] else {
            return EWSActionDecision(action: unknownDefault, code: code, isUnknown: true)
        }
        switch row {
        case .fixed(let action):
            return EWSActionDecision(action: action, code: code)
        case .throttled(let reduce, let fallbackBudget):
            let policy = EWSThrottlingHint.policy(messageXML: messageXML, texts: [messageText])
            let hint = EWSRetryHint(
                backOffMilliseconds: EWSThrottlingHint.backOff(messageXML: messageXML, texts: [messageText]),
                budget: EWSBudget(policy: policy, default: fallbackBudget), policy: policy)
            return EWSActionDecision(action: reduce ? .reduceConcurrency(hint) : .retryLater(hint), code: code)
        }
    }

    /// Action for a response message status.
    public static func action(for status: EWSResponseStatus) -> EWSActionDecision {
        action(forCode: status.responseCode, messageXML: status.messageXML, messageText: status.messageText)
    }

    /// Action for a SOAP fault (detail ResponseCode; a fault without one is a bounded retry, flagged).
    public static func action(for fault: EWSSOAPFault) -> EWSActionDecision {
        guard let code = fault.responseCode else {
            return EWSActionDecision(action: unknownDefault, code: "Fault \(fault.faultCode)", isUnknown: true)
        }
        let text = [fault.message, fault.faultString].compactMap { $0 }.joined(separator: " ")
        return action(forCode: code, messageXML: fault.messageXML, messageText: text)
    }

    /// Action for an HTTP-level failure.
    public static func action(for failure: EWSHTTPFailure) -> EWSActionDecision {
        let code = failure.status.map { "HTTP \($0)" } ?? "HTTP \(failure.kind.rawValue)"
        switch failure.kind {
        case .unauthorized:
            return EWSActionDecision(action: .refreshCredentialsOnce, code: code)
        case .forbidden, .redirect:
            return EWSActionDecision(action: .giveUp, code: code)
        case .serviceUnavailable:
            let hint = EWSRetryHint(backOffMilliseconds: failure.retryAfterSeconds.map { $0 * 1000 }, budget: .server)
            return EWSActionDecision(action: .retryLater(hint), code: code)
        case .genericErrorPageRedirect, .connectionReset, .timedOut:
            return EWSActionDecision(action: .retryBounded(maxAttempts: transientAttempts, then: .giveUp), code: code)
        case .serverError:
            return EWSActionDecision(action: .retryBounded(maxAttempts: fewAttempts, then: .giveUp), code: code)
        case .unexpectedStatus:
            return EWSActionDecision(action: unknownDefault, code: code, isUnknown: true)
        }
    }

    /// Action for a streaming error message (per subscription ids).
    public static func action(for error: StreamingSubscriptionError) -> EWSActionDecision {
        action(for: error.status)
    }
}
