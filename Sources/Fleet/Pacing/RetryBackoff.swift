/// The delay arithmetic behind `RetryPacer`: exponential with jitter, capped, and never shorter
/// than what the server advised (BackOffMilliseconds, Retry-After). Deterministic for a given seed,
/// so tests can assert exact delays.
struct RetryBackoff: Sendable {
    var initial: Duration
    var maximum: Duration
    /// Mailboxes in state `failed` (given up: permissions, configuration) are retried rarely.
    var failedInitial: Duration
    var failedMaximum: Duration
    /// The jitter's seed, so a machine can derive its pacers' generators from its configuration.
    let seed: UInt64
    private var rng: SplitMix64

    init(initial: Duration = .seconds(1), maximum: Duration = .seconds(300),
         failedInitial: Duration = .seconds(300), failedMaximum: Duration = .seconds(3600), seed: UInt64) {
        self.initial = initial
        self.maximum = maximum
        self.failedInitial = failedInitial
        self.failedMaximum = failedMaximum
        self.seed = seed
        rng = SplitMix64(seed: seed)
    }

    /// Attempt 1 waits about `initial`, each further attempt about twice as long, up to `maximum`.
    /// "Equal jitter": half the base is fixed, half random, so retries of many mailboxes spread out
    /// without ever collapsing to zero. The server's hint is a floor and is honoured even past the cap.
    mutating func delay(attempt: Int, serverHint: Duration?) -> Duration {
        let base = Self.exponential(initial, attempt: attempt, cap: maximum)
        let jittered = base / 2 + (base / 2) * rng.nextUnit()
        return max(jittered, serverHint ?? .zero)
    }

    mutating func failedDelay(attempt: Int) -> Duration {
        let base = Self.exponential(failedInitial, attempt: attempt, cap: failedMaximum)
        return base / 2 + (base / 2) * rng.nextUnit()
    }

    static func exponential(_ initial: Duration, attempt: Int, cap: Duration) -> Duration {
        var d = initial
        for _ in 1..<max(1, attempt) {
            d *= 2
            if d >= cap { return cap }
        }
        return min(d, cap)
    }
}

/// Small, fast, seedable generator (SplitMix64); good enough for jitter.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
