import Testing

@testable import EWS

@Suite struct EWSActionTableTests {
    static let bounded5 = EWSAction.retryBounded(maxAttempts: 5, then: .giveUp)
    static let bounded3 = EWSAction.retryBounded(maxAttempts: 3, then: .giveUp)

    /// Every ResponseCode of fact sheet §7.2 with its expected action (no hints in the message).
    static let rows: [(String, EWSAction)] = [
        ("NoError", .proceed),
        ("ErrorServerBusy", .retryLater(EWSRetryHint(budget: .server))),
        ("ErrorExceededConnectionCount", .reduceConcurrency(EWSRetryHint(budget: .streamingConnections))),
        ("ErrorExceededSubscriptionCount", .retryLater(EWSRetryHint(budget: .subscriptions))),
        ("ErrorMailboxMoveInProgress", .retryLater(EWSRetryHint(budget: .server))),
        ("ErrorTooManyObjectsOpened", bounded5),
        ("ErrorInsufficientResources", bounded5),
        ("ErrorInternalServerTransientError", bounded5),
        ("ErrorMailboxStoreUnavailable", bounded5),
        ("ErrorConnectionFailed", bounded5),
        ("ErrorTimeoutExpired", bounded5),
        ("ErrorBatchProcessingStopped", bounded5),
        ("ErrorInternalServerError", bounded3),
        ("ErrorStaleObject", bounded3),
        ("ErrorIrresolvableConflict", bounded3),
        ("ErrorProxiedSubscriptionCallFailure", .retryBounded(maxAttempts: 3, then: .resubscribe)),
        ("ErrorProxyRequestNotAllowed", .resubscribe(rediscover: true)),
        ("ErrorSubscriptionNotFound", .resubscribe(rediscover: false)),
        ("ErrorInvalidSubscription", .resubscribe(rediscover: false)),
        ("ErrorExpiredSubscription", .resubscribe(rediscover: false)),
        ("ErrorReadEventsFailed", .resubscribe(rediscover: false)),
        ("ErrorInvalidWatermark", .resubscribe(rediscover: false)),
        ("ErrorEventNotFound", .resubscribe(rediscover: false)),
        ("ErrorSubscriptionUnsubscribed", .dropSubscription),
        ("ErrorNewEventStreamConnectionOpened", .ignore),
        ("ErrorMissedNotificationEvents", .resyncFolder),
        ("ErrorInvalidSyncStateData", .fullResync),
        ("ErrorSyncFolderNotFound", .refreshFolderHierarchy),
        ("ErrorFolderNotFound", .refreshFolderHierarchy),
        ("ErrorItemNotFound", .skipItem),
        ("ErrorSubscriptionAccessDenied", .giveUp),
        ("ErrorSubscriptionDelegateAccessNotSupported", .giveUp),
        ("ErrorInvalidSubscriptionRequest", .giveUp),
        ("ErrorAccessDenied", .giveUp),
        ("ErrorImpersonateUserDenied", .giveUp),
        ("ErrorImpersonationDenied", .giveUp),
        ("ErrorNonExistentMailbox", .giveUp),
        ("ErrorAccountDisabled", .giveUp),
        ("ErrorInvalidServerVersion", .giveUp),
        ("ErrorSchemaValidation", .giveUp),
        ("ErrorInvalidRequest", .giveUp),
        ("ErrorInvalidSchemaVersionForMailboxVersion", .giveUp),
    ]

    @Test(arguments: rows.map(\.0))
    func everyResponseCodeRow(code: String) {
        let expected = Self.rows.first { $0.0 == code }!.1
        let decision = EWSActionTable.action(forCode: code)
        #expect(decision.action == expected)
        #expect(!decision.isUnknown)
        #expect(decision.code == code)
    }

    @Test func tableHasNoRowsBeyondTheTestedOnes() {
        #expect(Set(EWSActionTable.knownResponseCodes) == Set(Self.rows.map(\.0)))
    }

    @Test(arguments: [
        (EWSHTTPFailure(kind: .unauthorized, status: 401), EWSAction.refreshCredentialsOnce),
        (EWSHTTPFailure(kind: .forbidden, status: 403), .giveUp),
        (EWSHTTPFailure(kind: .serviceUnavailable, status: 503, retryAfterSeconds: 7),
            .retryLater(EWSRetryHint(backOffMilliseconds: 7000, budget: .server))),
        (EWSHTTPFailure(kind: .serviceUnavailable, status: 503), .retryLater(EWSRetryHint(budget: .server))),
        (EWSHTTPFailure(kind: .genericErrorPageRedirect, status: 302), bounded5),
        (EWSHTTPFailure(kind: .redirect, status: 301), .giveUp),
        (EWSHTTPFailure(kind: .serverError, status: 502), bounded3),
        (EWSHTTPFailure(kind: .connectionReset), bounded5),
        (EWSHTTPFailure(kind: .timedOut), bounded5),
    ])
    func everyHTTPRow(failure: EWSHTTPFailure, expected: EWSAction) {
        let decision = EWSActionTable.action(for: failure)
        #expect(decision.action == expected)
        #expect(!decision.isUnknown)
    }

    @Test func actionsPrintCompactly() {
        #expect(EWSAction.retryLater(EWSRetryHint(backOffMilliseconds: 5000, budget: .mailboxSync)).description
            == "retryLater(backoff=5000ms budget=mailboxSync)")
        #expect(EWSAction.retryBounded(maxAttempts: 3, then: .resubscribe).description
            == "retryBounded(max=3 then=resubscribe)")
        #expect(EWSAction.resubscribe(rediscover: true).description == "resubscribe(rediscover)")
    }

    @Test func unknownCodesGetSafeDefaultAndAreFlagged() {
        let decision = EWSActionTable.action(forCode: "ErrorSomethingNew")
        #expect(decision.isUnknown)
        #expect(decision.action == EWSActionTable.unknownDefault)
        #expect(decision.code == "ErrorSomethingNew")
        let http = EWSActionTable.action(for: EWSHTTPFailure(kind: .unexpectedStatus, status: 418))
        #expect(http.isUnknown)
        #expect(http.code == "HTTP 418")
    }

    @Test func throttlingHintsComeFromMessageXmlOrText() {
        let xml = EWSActionTable.action(forCode: "ErrorServerBusy",
            messageXML: ["BackOffMilliseconds": "299984", "Policy": "ConcurrentSyncCalls"])
        #expect(xml.action == .retryLater(EWSRetryHint(backOffMilliseconds: 299_984, budget: .mailboxSync,
            policy: "ConcurrentSyncCalls")))
        let text = EWSActionTable.action(forCode: "ErrorExceededConnectionCount",
            messageXML: ["ErrorMessage": "This operation exceeds the throttling budget for policy part 'MaxConcurrency', policy value '27', Budget type: 'Ews'. Suggested backoff time 0 ms."])
        #expect(text.action == .reduceConcurrency(EWSRetryHint(backOffMilliseconds: 0, budget: .concurrency,
            policy: "MaxConcurrency")))
        let odd = EWSActionTable.action(forCode: "ErrorServerBusy", messageText: "policy part 'Brand New', x")
        #expect(odd.action == .retryLater(EWSRetryHint(budget: .policy("Brand New"), policy: "Brand New")))
    }
}
