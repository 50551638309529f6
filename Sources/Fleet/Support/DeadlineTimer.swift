/// The one timer of an actor around a state machine: a single tick at the machine's next
/// deadline. An earlier deadline replaces a later one; the stale sleeper's tick is then ignored by
/// its generation. The sleeper runs in the actor's task group, so it ends with the actor.
struct DeadlineTimer<C: Clock<Duration>>: Sendable where C.Instant: Sendable {
    private var deadline: C.Instant?
    private var generation: UInt64 = 0

    /// Arms a tick for `next` unless one at or before it is armed; `fire` yields the tick (with
    /// its generation) into the actor's event stream.
    mutating func arm(_ next: C.Instant?, clock: C, group: inout DiscardingTaskGroup,
                      fire: @escaping @Sendable (UInt64) -> Void) {
        guard let next else { return }
        if let armed = deadline, armed <= next { return }
        generation &+= 1
        deadline = next
        let tick = generation
        group.addTask {
            guard (try? await clock.sleep(until: next, tolerance: nil)) != nil else { return }
            fire(tick)
        }
    }

    /// A tick arrived: true when it is the armed one (which is then spent).
    mutating func fired(_ tick: UInt64) -> Bool {
        guard tick == generation else { return false }
        deadline = nil
        return true
    }
}
