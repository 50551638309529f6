/// Exponential backoff with jitter: attempt 1 waits about `initial`, each later attempt
/// `multiplier` times longer, capped at `maximum`.
///
/// Jitter subtracts up to `jitter` (a fraction) of the delay, so many clients that failed at the
/// same moment (a server restart) do not reconnect in lock-step, and no delay exceeds `maximum`.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    /// Fraction in 0...1 of each delay that is randomised away.
    public var jitter: Double

    public init(
        initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5),
        multiplier: Double = 2, jitter: Double = 0.5
    ) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// The delay before retry number `attempt` (1-based) without jitter.
    public func baseDelay(attempt: Int) -> Duration {
        let initialSeconds = initial.seconds
        let maximumSeconds = maximum.seconds
        let exponent = Double(max(0, attempt - 1))
        let seconds = min(maximumSeconds, initialSeconds * Foundation_pow(multiplier, exponent))
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// The delay before retry number `attempt` (1-based), jittered with `generator`.
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let base = baseDelay(attempt: attempt).seconds
        let fraction = min(1, max(0, jitter))
        let cut = fraction == 0 ? 0 : Double.random(in: 0..<fraction, using: &generator)
        return .nanoseconds(Int64((base * (1 - cut) * 1e9).rounded()))
    }

    public func delay(attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &generator)
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}

/// `pow` without importing Foundation into every file; overflow saturates to infinity and is
/// then capped by `maximum`.
private func Foundation_pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var remaining = Int(exponent)
    while remaining > 0 && result.isFinite {
        result *= base
        remaining -= 1
    }
    return result
}
