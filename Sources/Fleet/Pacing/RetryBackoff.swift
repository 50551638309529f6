import Support

/// The delay arithmetic behind `RetryPacer`: two `Backoff` policies (retries, and the rare retries
/// of a mailbox in state `failed`: permissions, configuration) with equal jitter, and never shorter
/// than what the server advised (BackOffMilliseconds, Retry-After). Deterministic for a given seed,
/// so tests can assert exact delays.
struct RetryBackoff: Sendable {
    var retry: Backoff
    var failed: Backoff
    /// The jitter's seed, so a machine can derive its pacers' generators from its configuration.
    let seed: UInt64
    private var rng: SplitMix64

    init(initial: Duration = .seconds(1), maximum: Duration = .seconds(300),
         failedInitial: Duration = .seconds(300), failedMaximum: Duration = .seconds(3600), seed: UInt64) {
        retry = Backoff(initial: initial, maximum: maximum)
        failed = Backoff(initial: failedInitial, maximum: failedMaximum)
        self.seed = seed
        rng = SplitMix64(seed: seed)
    }

    /// The server's hint is a floor and is honoured even past the cap.
    mutating func delay(attempt: Int, serverHint: Duration?) -> Duration {
        max(retry.delay(attempt: attempt, using: &rng), serverHint ?? .zero)
    }

    mutating func failedDelay(attempt: Int) -> Duration { failed.delay(attempt: attempt, using: &rng) }

    static func exponential(_ initial: Duration, attempt: Int, cap: Duration) -> Duration {
        Backoff(initial: initial, maximum: cap).baseDelay(attempt: attempt)
    }
}
