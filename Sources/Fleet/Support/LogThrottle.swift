/// Rate-limits repeated notices: one line per cause per `interval`, and that line says how many
/// were suppressed since the last one. A storm is then visible in the log without flooding it
/// (the counters in /metrics keep every single event).
struct LogThrottle<Instant: InstantProtocol<Duration>>: Sendable where Instant: Sendable {
    let interval: Duration
    private var last: [String: (at: Instant, suppressed: Int)] = [:]

    init(interval: Duration) { self.interval = interval }

    /// Nil when this cause was logged less than `interval` ago (the event is counted); else the
    /// number of events suppressed since the last line.
    mutating func allow(_ cause: String, now: Instant) -> Int? {
        if let previous = last[cause], previous.at.duration(to: now) < interval {
            last[cause] = (previous.at, previous.suppressed + 1)
            return nil
        }
        let suppressed = last[cause]?.suppressed ?? 0
        last[cause] = (now, 0)
        return suppressed
    }
}
