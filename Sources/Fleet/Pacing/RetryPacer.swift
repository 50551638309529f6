/// The one pacing rule of every path that retries: stream reopens (`StreamGroupMachine`),
/// resubscribes, subscribe and sync retries (`MailboxMachine`) and tenant starts (`Supervisor`).
///
/// Consecutive failures grow an exponential back-off with jitter (`RetryBackoff`), never shorter
/// than what the server advised. After `maxAttempts` consecutive failures the path gives up: it
/// is retried only rarely (`failedInitial`…`failedMaximum`) until something succeeds. Nothing that
/// retries computes a delay any other way, so no answer a server can give makes a path loop
/// without pacing.
struct RetryPacer: Sendable, Equatable {
    struct Policy: Sendable, Equatable {
        var initial: Duration = .seconds(1)
        var maximum: Duration = .seconds(300)
        var failedInitial: Duration = .seconds(300)
        var failedMaximum: Duration = .seconds(3600)
        /// Consecutive failures before giving up; nil retries (paced) for ever.
        var maxAttempts: Int?
    }

    /// What to do after a failure.
    enum Verdict: Equatable, Sendable {
        /// Try again after this delay.
        case retry(after: Duration)
        /// Given up (too many failures, or a failure that retrying cannot fix): the next try is a
        /// rare one, after this delay.
        case gaveUp(retryAfter: Duration)

        var delay: Duration {
            switch self {
            case .retry(let d), .gaveUp(let d): d
            }
        }
    }

    let policy: Policy
    /// Consecutive failures since the last success.
    private(set) var failures = 0
    private var backoff: RetryBackoff

    init(_ policy: Policy, seed: UInt64) {
        self.policy = policy
        backoff = RetryBackoff(initial: policy.initial, maximum: policy.maximum, failedInitial: policy.failedInitial,
                               failedMaximum: policy.failedMaximum, seed: seed)
    }

    /// A failure. `hint` is the server's advice (BackOffMilliseconds, Retry-After): a floor.
    /// `maxAttempts` overrides the policy's bound for this failure (the action table's
    /// `retryBounded`).
    mutating func failed(hint: Duration? = nil, maxAttempts: Int? = nil) -> Verdict {
        failures += 1
        if let bound = maxAttempts ?? policy.maxAttempts, failures > bound {
            return .gaveUp(retryAfter: max(backoff.failedDelay(attempt: failures - bound), hint ?? .zero))
        }
        return .retry(after: backoff.delay(attempt: failures, serverHint: hint))
    }

    /// A failure that retrying soon cannot fix (permissions, configuration): give up at once.
    mutating func gaveUp() -> Verdict {
        failures += 1
        return .gaveUp(retryAfter: backoff.failedDelay(attempt: failures))
    }

    /// Whether the last failure exhausted the bound (the path is in its rare-retry mode).
    var hasGivenUp: Bool { policy.maxAttempts.map { failures > $0 } ?? false }

    mutating func succeeded() { failures = 0 }

    static func == (lhs: RetryPacer, rhs: RetryPacer) -> Bool {
        lhs.policy == rhs.policy && lhs.failures == rhs.failures
    }
}
