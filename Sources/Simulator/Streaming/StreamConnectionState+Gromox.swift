/// gromox's GetStreamingEvents lifecycle (exch/ews/ews.cpp `EWSContext::notify`, observed on the
/// wire): the first message refuses bad ids with ErrorInvalidSubscription *and* ConnectionStatus
/// Closed, yet the good ids stay attached and the bad ones are reported again in the next
/// message; with no good id the stream lingers until the next heartbeat tick, says the error
/// again with Closed, then a goodbye Closed, and ends.
extension StreamConnectionState {
    mutating func startGromox(attached ids: [String], errors: [Failure]) -> Bool {
        attached = ids
        if errors.isEmpty {
            outbox.append(.heartbeat)
        } else {
            for error in errors {
                outbox.append(.refusal(code: error.code, message: error.message, subscriptionIds: error.ids))
            }
            repeatedErrors = errors
            if ids.isEmpty { phase = .lingering }
        }
        return requestFlush()
    }

    /// A heartbeat tick is a wake-up: a StatusEvent for every attached subscription.
    mutating func heartbeatGromox() -> Bool {
        switch phase {
        case .lingering:
            repeatErrors()
            outbox.append(.closed)
            phase = .finishing
        case .open:
            repeatErrors()
            outbox.append(.tick(subscriptionIds: attached))
        case .finishing, .finished:
            return false
        }
        return requestFlush()
    }

    /// The ids refused at open go into the next message once more.
    mutating func repeatErrors() {
        for error in repeatedErrors {
            outbox.append(.error(code: error.code, message: error.message, subscriptionIds: error.ids))
        }
        repeatedErrors = []
    }
}
