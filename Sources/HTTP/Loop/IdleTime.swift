import Support
/// The time the stream idle watchdog measures silence with, in nanoseconds since the loop started.
///
/// It is read on the loop thread, so it must be synchronous: a `Clock`'s `now` is. The real
/// service uses `ContinuousClock`; tests inject a manual clock and then ask the loop to re-check
/// (`HTTPClient.recheckIdleStreams()`): silence is measured, not waited for.
struct IdleTime: Sendable {
    let now: @Sendable () -> UInt64

    static func of<C: Clock<Duration>>(_ clock: C) -> IdleTime {
        let origin = clock.now
        return IdleTime { origin.duration(to: clock.now).wholeNanoseconds }
    }
}
