import Support
/// Paces connection attempts after failures: attempt n+1 may start only `backoff.delay(n)`
/// after failure n. A success resets it. Times are offsets on the pool's injected clock.
struct ReconnectGate: Sendable {
    private(set) var consecutiveFailures = 0
    private(set) var notBefore: Duration = .zero

    /// How long an attempt starting at `now` must wait first.
    func delay(now: Duration) -> Duration { notBefore > now ? notBefore - now : .zero }

    mutating func recordFailure(now: Duration, backoff: Backoff, generator: inout some RandomNumberGenerator) {
        consecutiveFailures += 1
        notBefore = now + backoff.delay(attempt: consecutiveFailures, using: &generator)
    }

    mutating func recordSuccess() {
        consecutiveFailures = 0
        notBefore = .zero
    }
}

/// A type-erased `Clock<Duration>` so non-generic types (the pool) can use an injected clock.
struct PoolClock: Sendable {
    /// Time since the clock was wrapped.
    let now: @Sendable () -> Duration
    let sleep: @Sendable (Duration) async throws -> Void

    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let start = clock.now
        now = { start.duration(to: clock.now) }
        sleep = { duration in try await clock.sleep(for: duration) }
    }
}
