/// The gate every authenticated EWS request passes: advised back-offs, request faults, the
/// recharging budget and the concurrency limits, in that order. A passed request holds a ticket
/// until its response is written (`finish`), so slow and held responses still count as in flight.
extension SimWorld {
    struct AdmissionTicket: Sendable {
        var identity: String
        var operation: String
        var mailbox: String?
        var tenantIndex: Int
        var countsInFlight: Bool
        var isSync: Bool
    }

    enum Admission { case pass(AdmissionTicket), reject(SimResponse) }

    static let busyText = "The server cannot service this request right now. Try again later."

    /// `arrivedAt`: when the request's head was received (injected clock); nil means now.
    func admit(tenant: Tenant, identity: SimIdentity, operation: String, mailbox: Mailbox?,
               hasSyncState: Bool, chargedBudget: String, arrivedAt: Duration?) -> Admission {
        lock.withLock {
            let now = clock.now()
            let key = identity.key
            throttleBook.violations[key, default: 0] += 0
            throttleBook.inFlightAtAdvice[key, default: 0] += 0
            // An advised back-off still running on the budget this request is charged to (or, for
            // ConcurrentSyncCalls, on its target mailbox).
            let budgets = [chargedBudget, mailbox.map { key + "|" + $0.smtp.lowercased() }].compactMap { $0 }
            if let busy = answerDuringBackoff(budgets: budgets, identity: key, operation: operation,
                                              arrivedAt: arrivedAt ?? now, now: now) {
                return .reject(busy)
            }
            for active in faultBook.active.values.sorted(by: { $0.id < $1.id })
            where matches(active.fault.scope, tenant: tenant, identity: key, mailbox: mailbox) {
                let fault = active.fault
                switch fault.kind {
                case .throttle where fault.rate == nil && !isExpired(active, now: now):
                    let end = active.injectedAt + .milliseconds(Int64(fault.seconds * 1000))
                    let length = Self.wholeMilliseconds(end - now)
                    faultBook.effect(.throttle)
                    return .reject(advise(chargedBudget, for: length, now: now,
                                          Self.serverBusy(operation, form: fault.form, backOff: length)))
                case .http500 where random.chance(fault.fraction):
                    faultBook.effect(.http500)
                    return .reject(.text(.internalServerError, "Internal Server Error"))
                case .http503 where random.chance(fault.fraction):
                    faultBook.effect(.http503)
                    var headers: HTTPHeaders = [:]
                    if let retryAfter = fault.retryAfter { headers.add(name: "Retry-After", value: String(retryAfter)) }
                    return .reject(.text(.serviceUnavailable, "Service Unavailable", headers: headers))
                case .malformedXML where random.chance(fault.fraction):
                    faultBook.effect(.malformedXML)
                    return .reject(.xml(.ok, "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\""
                        + "http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><m:\(operation)Response xmlns:m=\"\(NS.messages)\"><m:Resp"))
                default:
                    continue
                }
            }
            if let burst = configuration.budgetBurst {
                let rate = configuration.budgetRechargePerSecond
                let previous = throttleBook.budget[chargedBudget] ?? (tokens: burst, at: now)
                var tokens = min(burst, previous.tokens + (now - previous.at).inSeconds * rate)
                if tokens < 1 {
                    let length = Self.wholeMilliseconds(.milliseconds(Int64((1 - tokens) / rate * 1000)))
                    throttleBook.budget[chargedBudget] = (tokens, now)
                    throttleBook.throttled["Budget", default: 0] += 1
                    return .reject(advise(chargedBudget, for: length, now: now,
                                          Self.serverBusy(operation, form: .fault, backOff: length)))
                }
                tokens -= 1
                throttleBook.budget[chargedBudget] = (tokens, now)
            }
            let isStream = operation == "GetStreamingEvents"
            if isStream, configuration.maxHangingConnections > 0,
               connections.values.count(where: { $0.budget == chargedBudget }) >= configuration.maxHangingConnections {
                throttleBook.throttled["HangingConnectionLimit", default: 0] += 1
                return .reject(Self.exceededConnections(operation, policy: "HangingConnectionLimit",
                                                        limit: configuration.maxHangingConnections))
            }
            if !isStream, configuration.maxConcurrency > 0, throttleBook.inFlight[key, default: 0] >= configuration.maxConcurrency {
                throttleBook.throttled["MaxConcurrency", default: 0] += 1
                return .reject(Self.exceededConnections(operation, policy: "MaxConcurrency", limit: configuration.maxConcurrency))
            }
            let isSync = operation == "SyncFolderItems" || operation == "SyncFolderHierarchy"
            let smtp = mailbox?.smtp.lowercased()
            if isSync, let smtp, configuration.maxConcurrentSyncCalls > 0,
               throttleBook.syncInFlight[smtp, default: 0] >= configuration.maxConcurrentSyncCalls {
                throttleBook.throttled["ConcurrentSyncCalls", default: 0] += 1
                let limit = configuration.maxConcurrentSyncCalls
                let busy = SimResponse.xml(.ok, EWSEnvelope.response(operation) { w in
                    Self.errorMessage(&w, operation, "ErrorServerBusy", Self.busyText, [
                        ("BackOffMilliseconds", "5000"), ("Policy", "ConcurrentSyncCalls"),
                        ("ErrorMessage", "This operation exceeds the throttling budget for policy part 'ConcurrentSyncCalls', policy value '\(limit)', Budget type: 'Ews'. Suggested backoff time 5000 ms."),
                    ])
                })
                return .reject(advise(key + "|" + smtp, for: .milliseconds(5000), now: now, busy))
            }
            if operation == "Subscribe", let mailbox, configuration.maxSubscriptionsPerMailbox > 0 {
                sweepSubscriptions(mailbox)
                if mailbox.subscriptionIds.count >= configuration.maxSubscriptionsPerMailbox {
                    throttleBook.throttled["MaxSubscriptions", default: 0] += 1
                    let limit = configuration.maxSubscriptionsPerMailbox
                    return .reject(.xml(.ok, EWSEnvelope.response(operation) { w in
                        EWSEnvelope.message(&w, operation, error: ("ErrorExceededSubscriptionCount",
                            "You have exceeded the maximum number of subscriptions allowed for this mailbox."), values: [
                            ("Policy", "MaxSubscriptions"), ("MaxSubscriptionsLimit", String(limit)),
                        ])
                    }))
                }
            }
            if operation == "SyncFolderItems", hasSyncState, let mailbox, consumeSyncInvalidation(mailbox) {
                return .reject(.xml(.ok, EWSEnvelope.response(operation) { w in
                    EWSEnvelope.message(&w, operation, error: ("ErrorInvalidSyncStateData",
                        "Synchronization state data is corrupt or otherwise invalid.")) { w in
                        w.empty("m:SyncState")
                        w.element("m:IncludesLastItemInRange", "true")
                    }
                }))
            }
            if !isStream { throttleBook.inFlight[key, default: 0] += 1 }
            if isSync, let smtp { throttleBook.syncInFlight[smtp, default: 0] += 1 }
            return .pass(AdmissionTicket(identity: key, operation: operation, mailbox: smtp, tenantIndex: tenant.index,
                                         countsInFlight: !isStream, isSync: isSync && smtp != nil))
        }
    }

    /// Ends a ticket: now, or (slow / held responses) once the response may be written.
    func finish(_ ticket: AdmissionTicket, _ response: SimResponse) -> SimResponse {
        if case .stream = response {
            retire(ticket)
            return response
        }
        // Read before the effect is counted: a test that saw the effect and advanced the clock
        // must not push the deadline out.
        let start = clock.now()
        let (delay, heldId): (Duration?, Int?) = lock.withLock {
            var delay: Duration?
            var heldId: Int?
            let tenant = tenants[ticket.tenantIndex]
            let mailbox = ticket.mailbox.flatMap { self.mailbox(smtp: $0) }
            for key in faultBook.active.keys.sorted() {
                guard let active = faultBook.active[key],
                      matches(active.fault.scope, tenant: tenant, identity: ticket.identity, mailbox: mailbox) else { continue }
                if active.fault.kind == .slow, random.chance(active.fault.fraction) {
                    delay = max(delay ?? .zero, .milliseconds(Int64(active.fault.seconds * 1000)))
                    faultBook.effect(.slow)
                }
                if active.fault.kind == .holdSyncPage, ticket.operation == "SyncFolderItems", let mailbox {
                    faultBook.active[key]!.syncPagesSeen += 1
                    guard faultBook.active[key]!.syncPagesSeen == active.fault.page, heldId == nil else { continue }
                    let id = faultBook.nextHeldId
                    faultBook.nextHeldId += 1
                    faultBook.held[id] = FaultBook.Held(info: SimHeldRequest(
                        id: id, faultId: key, operation: ticket.operation, mailbox: mailbox.smtp,
                        identity: ticket.identity, page: active.fault.page))
                    heldId = id
                    faultBook.effect(.holdSyncPage)
                    notifyHeldWaiters()
                }
            }
            return (delay, heldId)
        }
        guard delay != nil || heldId != nil else {
            retire(ticket)
            return response
        }
        return .deferred(response) { [self] in
            if let delay { try? await clock.sleep(untilOffset: start + delay) }
            if let heldId { await waitForRelease(heldId) }
            retire(ticket)
        }
    }

    private func retire(_ ticket: AdmissionTicket) {
        lock.withLock {
            if ticket.countsInFlight { throttleBook.inFlight[ticket.identity, default: 1] -= 1 }
            if ticket.isSync, let smtp = ticket.mailbox { throttleBook.syncInFlight[smtp, default: 1] -= 1 }
        }
    }

    private func waitForRelease(_ id: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now: Bool = lock.withLock {
                guard let held = faultBook.held[id], !held.released else {
                    faultBook.held[id] = nil
                    return true
                }
                faultBook.held[id]?.continuation = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Lock held.
    func notifyHeldWaiters() {
        let count = faultBook.held.values.count(where: { !$0.released })
        let ready = faultBook.heldWaiters.filter { $0.count <= count }
        faultBook.heldWaiters.removeAll { $0.count <= count }
        ready.forEach { $0.continuation.resume() }
    }

    static func wholeMilliseconds(_ duration: Duration) -> Duration {
        .milliseconds(Int64((duration.inSeconds * 1000).rounded(.up)))
    }

    static func milliseconds(_ duration: Duration) -> Int { Int((duration.inSeconds * 1000).rounded(.up)) }

    /// A throttling error message; GetItem's schema requires an (empty) m:Items even on error.
    static func errorMessage(_ w: inout XMLWriter, _ operation: String, _ code: String, _ text: String,
                             _ values: [(String, String)]) {
        EWSEnvelope.message(&w, operation, error: (code, text), values: values) { w in
            if operation == "GetItem" { w.empty("m:Items") }
        }
    }

    static func serverBusy(_ operation: String, form: SimFault.Form, backOff: Duration) -> SimResponse {
        let values = [("BackOffMilliseconds", String(milliseconds(backOff)))]
        switch form {
        case .fault:
            return .xml(.internalServerError, EWSEnvelope.fault(code: "ErrorServerBusy", message: busyText, values: values))
        case .message:
            return .xml(.ok, EWSEnvelope.response(operation) { w in
                errorMessage(&w, operation, "ErrorServerBusy", busyText, values)
            })
        }
    }

    static func exceededConnections(_ operation: String, policy: String, limit: Int) -> SimResponse {
        .xml(.ok, EWSEnvelope.response(operation) { w in
            errorMessage(&w, operation, "ErrorExceededConnectionCount",
                "You have exceeded the available concurrent connections for your account. Try again once your other requests have completed.",
                [("Policy", policy), ("\(policy == "MaxConcurrency" ? "MaxConcurrencyLimit" : policy)", String(limit)),
                         ("ErrorMessage", "This operation exceeds the throttling budget for policy part '\(policy)', policy value '\(limit)', Budget type: 'Ews'. Suggested backoff time 0 ms.")])
        })
    }
}

import Support
import NIOHTTP1
