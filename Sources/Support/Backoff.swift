/// Exponential back-off with jitter: attempt 1 waits about `initial`, each later attempt twice as
/// long, capped at `maximum`.
///
/// Jitter takes a random part, up to the fraction `jitter`, off each delay, so many clients that
/// failed at the same moment (a server restart) do not retry in lock-step. With the default ½
/// ("equal jitter") half of each delay is fixed, so retries never collapse to zero, and no delay
/// exceeds `maximum`.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    /// Fraction in 0...1 of each delay that is randomised away.
    public var jitter: Double

    public init(initial: Duration, maximum: Duration, jitter: Double = 0.5) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
    }

    /// The delay before retry number `attempt` (1-based) without jitter.
    public func baseDelay(attempt: Int) -> Duration {
        var delay = initial
        for _ in 1..<max(1, attempt) {
            delay *= 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }

    /// The delay before retry number `attempt` (1-based), jittered with `generator`.
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let base = baseDelay(attempt: attempt)
        let fraction = min(1, max(0, jitter))
        guard fraction > 0 else { return base }
        let unit = Double(generator.next() >> 11) / Double(1 << 53)
        return base * (1 - fraction) + base * (fraction * unit)
    }

    public func delay(attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &generator)
    }
}
