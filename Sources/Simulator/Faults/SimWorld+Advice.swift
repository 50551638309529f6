/// Advised back-offs, and whether the client could have known of one.
///
/// Every ErrorServerBusy with BackOffMilliseconds advises a back-off on the budget the request was
/// charged to. A request arriving inside it only breaks the advice if its client could have read
/// it: the request's head came more than `SimConfiguration.adviceGrace` after a response advising
/// that back-off was completely written to the socket. Requests already on the wire when the advice
/// went out (or within the grace) get the same busy answer with the time left, but they are counted
/// apart (`in_flight_at_advice`) and do not extend the back-off: a client cannot recall them.
extension SimWorld {
    /// Books a back-off of `length` on `budget` and returns `response`, the advice, marked so that
    /// the moment it is completely written is recorded (lock held).
    func advise(_ budget: String, for length: Duration, now: Duration, _ response: SimResponse) -> SimResponse {
        let id = throttleBook.nextBackoffId
        throttleBook.nextBackoffId += 1
        throttleBook.backoff[budget] = ThrottleBook.Backoff(until: now + length, length: length, id: id)
        return advice(response, budget: budget, id: id)
    }

    /// The answer to a request that arrived at `arrivedAt` while a back-off runs on one of
    /// `budgets`, or nil when none runs (lock held).
    func answerDuringBackoff(budgets: [String], identity: String, operation: String,
                             arrivedAt: Duration, now: Duration) -> SimResponse? {
        for budget in budgets {
            guard var backoff = throttleBook.backoff[budget], now < backoff.until else { continue }
            if let writtenAt = backoff.writtenAt, arrivedAt - writtenAt > configuration.adviceGrace {
                throttleBook.violations[identity, default: 0] += 1
                throttleBook.throttled["BackOffViolation", default: 0] += 1
                backoff.until += backoff.length
                throttleBook.backoff[budget] = backoff
                return Self.serverBusy(operation, form: .fault, backOff: backoff.until - now)
            }
            throttleBook.inFlightAtAdvice[identity, default: 0] += 1
            throttleBook.throttled["BackOffInFlight", default: 0] += 1
            // This answer advises the same back-off: if the first advice never reached the
            // client (its connection died), this one may.
            return advice(Self.serverBusy(operation, form: .fault, backOff: backoff.until - now), budget: budget, id: backoff.id)
        }
        return nil
    }

    /// Returns once advices of at least `count` back-offs have been completely written (explicit
    /// readiness: a test may then move the clock past the grace, knowing when the advice went out).
    public func waitUntilAdviceWritten(count: Int = 1) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready: Bool = lock.withLock {
                if throttleBook.advicesWritten >= count { return true }
                throttleBook.adviceWaiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private func advice(_ response: SimResponse, budget: String, id: Int) -> SimResponse {
        .advice(response) { [self] in adviceWritten(budget: budget, id: id) }
    }

    /// Called by the HTTP handler once an advising response's last byte went to the socket. The
    /// first such write of a back-off is when its client could first know of it.
    private func adviceWritten(budget: String, id: Int) {
        let ready: [CheckedContinuation<Void, Never>] = lock.withLock {
            guard let backoff = throttleBook.backoff[budget], backoff.id == id, backoff.writtenAt == nil else { return [] }
            throttleBook.backoff[budget]?.writtenAt = clock.now()
            throttleBook.advicesWritten += 1
            let total = throttleBook.advicesWritten
            defer { throttleBook.adviceWaiters.removeAll { $0.count <= total } }
            return throttleBook.adviceWaiters.filter { $0.count <= total }.map(\.continuation)
        }
        ready.forEach { $0.resume() }
    }
}
