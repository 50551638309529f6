/// Sync-only mode, the second pattern of Microsoft's "Mailbox synchronization and EWS" guidance:
/// no subscription at all. Every watched folder (and, in all-folders mode, the hierarchy) is
/// synced from its stored SyncState once per `pollInterval`, at this mailbox's own offset within
/// the interval, so a tenant's mailboxes spread their syncs instead of all syncing at each tick.
/// Nothing lives on the server, so a mailbox failover or a server restart costs nothing. Failed
/// syncs back off with the call pacer as in notification mode; the budget paces every call.
///
/// The timer reuses the safety-sync deadline (`nextSafetySyncAt`): in this mode every tick of it
/// is a full poll, so no separate safety sync is needed.
extension MailboxMachine {
    mutating func beginScheduled(forgetting persisted: String?, now: Instant) -> [MailboxAction<Instant>] {
        phase = .running
        polling = false
        subscriptionID = nil
        subscribedHere = false
        holdUntil = nil
        // The first sync too waits for the mailbox's slot: a cold start of thousands of sync-only
        // mailboxes spreads over one interval like every later round.
        nextSafetySyncAt = now.advanced(by: config.scheduleOffset)
        // A subscription kept from notification mode is left to expire on the server: the id may
        // be stale, and unsubscribing it would need a call the mode exists to avoid.
        var actions: [MailboxAction<Instant>] = persisted == nil ? [] : [.persistSubscription(nil)]
        actions.append(.status(.scheduled, nextAttempt: nextSafetySyncAt))
        return actions + tick(now: now)
    }
}

/// Where in each interval a sync-only mailbox syncs.
enum SyncSchedule {
    /// The fractional part of `id × golden ratio` (a Weyl sequence) times the interval: mailboxes
    /// with consecutive ids fall evenly over the interval (by the three-gap theorem the gaps
    /// between N of them take at most three sizes, none below about 0.38/N of it), and the offset
    /// is stable across restarts, so no coordination is needed.
    static func offset(mailboxID: Int64, interval: Duration) -> Duration {
        let golden: UInt64 = 0x9E37_79B9_7F4A_7C15  // 2^64 / φ
        let fraction = Double(UInt64(bitPattern: mailboxID) &* golden) / 18_446_744_073_709_551_616.0
        return interval * fraction
    }

    /// The first instant `start + k × interval` (k ≥ 1) after `now`: a poll that ran late (a
    /// back-off, a slow sync) keeps its slot in the interval instead of drifting.
    static func slot<Instant: InstantProtocol<Duration>>(after now: Instant, from start: Instant,
                                                         every interval: Duration) -> Instant {
        guard interval > .zero else { return now }
        let behind = start.duration(to: now)
        let rounds = max(1, Int((behind / interval).rounded(.down)) + 1)
        return start.advanced(by: interval * rounds)
    }
}
